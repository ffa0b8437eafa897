/**
 * A run's event log (backend chosen, images loaded, status changes, errors) as JSON lines in its
 * folder, so the run-detail view shows it after a restart too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunLogLine } from '../../../shared/api/types';

export const RUN_LOG_FILE = 'studio-log.jsonl';

export function appendRunLog(runDir: string, line: RunLogLine): void {
  try {
    fs.mkdirSync(runDir, { recursive: true });
    fs.appendFileSync(path.join(runDir, RUN_LOG_FILE), `${JSON.stringify(line)}\n`);
  } catch {
    // A run deleted while its process still talks: nothing to keep.
  }
}

/** The last `limit` lines, oldest first. */
export function readRunLog(runDir: string, limit = 200): RunLogLine[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, RUN_LOG_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: RunLogLine[] = [];
  for (const row of text.split('\n').slice(-limit - 1)) {
    if (!row) continue;
    try {
      const l = JSON.parse(row) as RunLogLine;
      if (typeof l.at === 'number' && typeof l.message === 'string') out.push(l);
    } catch {
      // A line cut by a crash mid-write.
    }
  }
  return out.slice(-limit);
}
