/**
 * A run's events file: the WorkerMessages a job on a cluster node writes, one JSON line each
 * (`{"at": <ms when written>, "message": {...}}`), appended by every attempt of the run (a requeue,
 * a resubmission) in the run's folder in the shared folder. The node writes (EventsWriter), the
 * supervisor reads complete lines from an offset (readEvents) and records the offset it reached.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkerMessage } from '../protocol';

export const EVENTS_FILE = 'events.jsonl';
/** The job a node runs (an EngineJob as JSON), written by the supervisor before it submits. */
export const JOB_FILE = 'job.json';

export interface EventLine {
  /** Epoch ms when the node wrote the line. */
  at: number;
  message: WorkerMessage;
}

export const eventsPath = (runDir: string): string => path.join(runDir, EVENTS_FILE);
export const jobPath = (runDir: string): string => path.join(runDir, JOB_FILE);

/**
 * Complete lines from byte `offset` on, and the offset after the last one. A line still being written
 * (no newline yet) waits for the next read; a line that is not an event is a clear error naming the
 * file and its byte offset.
 */
export function readEvents(file: string, offset: number): { lines: EventLine[]; offset: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], offset };
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return { lines: [], offset };
    const buf = Buffer.alloc(size - offset);
    const read = fs.readSync(fd, buf, 0, buf.length, offset);
    const end = buf.subarray(0, read).lastIndexOf(0x0a);
    if (end < 0) return { lines: [], offset };
    const lines: EventLine[] = [];
    let start = 0;
    for (const text of buf.subarray(0, end).toString('utf8').split('\n')) {
      const at = offset + start;
      start += Buffer.byteLength(text) + 1;
      if (!text.trim()) continue;
      let line: EventLine;
      try {
        line = JSON.parse(text) as EventLine;
      } catch (e) {
        throw new Error(`${file}: byte ${at}: not a JSON line (${(e as Error).message})`);
      }
      if (typeof line?.at !== 'number' || typeof line.message?.type !== 'string')
        throw new Error(`${file}: byte ${at}: expected {"at": ms, "message": {"type": …}}`);
      lines.push(line);
    }
    return { lines, offset: offset + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

/** The node's side: appends one line per message, each in a single write. */
export class EventsWriter {
  private readonly fd: number;

  constructor(readonly file: string) {
    // An attempt killed mid-write (a requeue, a node failure) may have left half a line: the next
    // attempt cuts it off, so the file stays whole lines. The supervisor never reads past a newline,
    // so it has not taken that half.
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file);
      const end = text.lastIndexOf(0x0a) + 1;
      if (end < text.length) fs.truncateSync(file, end);
    }
    this.fd = fs.openSync(file, 'a');
  }

  write(message: WorkerMessage): void {
    const line: EventLine = { at: Date.now(), message };
    fs.writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
