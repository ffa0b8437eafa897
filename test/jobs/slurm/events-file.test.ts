/**
 * The events file a cluster job writes and the supervisor takes in: only complete lines, from an
 * offset, in order; a half line left by a killed attempt is cut off by the next; a bad line is named.
 * And which job a (re)started attempt runs: the submitted one, a resume from the last checkpoint its
 * events name (on the thread count it had), or nothing when the run already finished.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../../shared/config/pretrain';
import type { PretrainJob, WorkerMessage } from '../../../src-main/jobs/protocol';
import { EventsWriter, readEvents } from '../../../src-main/jobs/slurm/events-file';
import { attemptJob } from '../../../src-main/jobs/slurm/node-runner';
import { removeTempDir, tempDir } from '../../temp-dir';

let dir: string;
let file: string;
beforeEach(() => {
  dir = tempDir('selfemd-events-');
  file = path.join(dir, 'events.jsonl');
});
afterEach(() => removeTempDir(dir));

const log = (message: string): WorkerMessage => ({ type: 'log', message });

describe('events file', () => {
  it('reads complete lines from an offset, in order, and waits for a line being written', () => {
    expect(readEvents(file, 0)).toEqual({ lines: [], offset: 0 });
    const w = new EventsWriter(file);
    w.write(log('a'));
    w.write(log('b'));
    const first = readEvents(file, 0);
    expect(first.lines.map((l) => l.message)).toEqual([log('a'), log('b')]);
    expect(first.offset).toBe(fs.statSync(file).size);
    fs.appendFileSync(file, '{"at": 1, "message": {"type": "log", "mess');
    expect(readEvents(file, first.offset)).toEqual({ lines: [], offset: first.offset });
    fs.appendFileSync(file, 'age": "c"}}\n');
    const next = readEvents(file, first.offset);
    expect(next.lines.map((l) => l.message)).toEqual([log('c')]);
    expect(readEvents(file, next.offset).lines).toEqual([]);
    w.close();
  });

  it('catches up on a long backlog in reads of at most 4 MiB, losing no line', () => {
    const w = new EventsWriter(file);
    for (let i = 0; i < 60_000; i++) w.write(log(`line ${i} ${'x'.repeat(60)}`));
    w.close();
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(4 << 20);
    const first = readEvents(file, 0);
    expect(first.offset).toBeLessThanOrEqual(4 << 20);
    const rest = readEvents(file, first.offset);
    expect(rest.offset).toBe(size);
    const all = [...first.lines, ...rest.lines].map((l) => (l.message as { message: string }).message);
    expect(all).toHaveLength(60_000);
    expect(all[59_999]).toMatch(/^line 59999 /);
  });

  it('a new attempt cuts off the half line a killed one left', () => {
    const w = new EventsWriter(file);
    w.write(log('before the kill'));
    w.close();
    const whole = fs.statSync(file).size;
    fs.appendFileSync(file, '{"at": 1, "message": {"ty');
    const again = new EventsWriter(file);
    expect(fs.statSync(file).size).toBe(whole);
    again.write(log('after the requeue'));
    again.close();
    expect(readEvents(file, 0).lines.map((l) => l.message)).toEqual([
      log('before the kill'),
      log('after the requeue'),
    ]);
  });

  it('names the file and byte of a line that is not an event', () => {
    fs.writeFileSync(file, `${JSON.stringify({ at: 1, message: log('ok') })}\nnot json\n`);
    const at = Buffer.byteLength(`${JSON.stringify({ at: 1, message: log('ok') })}\n`);
    expect(() => readEvents(file, 0)).toThrow(`${file}: byte ${at}: not a JSON line`);
    fs.writeFileSync(file, '{"at": "x", "message": {}}\n');
    expect(() => readEvents(file, 0)).toThrow(/byte 0: expected \{"at": ms/);
  });
});

describe('attemptJob', () => {
  const job: PretrainJob = {
    kind: 'pretrain',
    runId: 'r',
    config: resolvePretrainConfig({ backend: 'wasm' }),
    runDir: '/shared/runs/r',
    resume: false,
  };
  const checkpoint = (step: number): WorkerMessage => ({
    type: 'checkpoint',
    step,
    epoch: 0,
    dir: `/c/${step}`,
    bytes: 1,
  });
  const backend = (threads: number) =>
    ({
      type: 'backend',
      info: { choice: 'wasm', version: '4.22.0', threads, notes: [] },
    }) as unknown as WorkerMessage;
  const finished = (status: 'completed' | 'paused' | 'cancelled'): WorkerMessage => ({
    type: 'finished',
    result: { status, step: 3, totalSteps: 8, lastLoss: 1 },
  });

  it('runs the submitted job when no earlier attempt checkpointed', () => {
    expect(attemptJob(job, [])).toBe(job);
    expect(attemptJob(job, [backend(2), log('x')])).toBe(job);
  });

  it('resumes a requeued attempt from the last checkpoint of its events, on the thread count it had', () => {
    expect(attemptJob(job, [backend(2), checkpoint(1), checkpoint(3)])).toEqual({
      ...job,
      resume: true,
      resumeStep: 3,
      threads: 2,
    });
  });

  it('keeps a resubmitted resume whose step is the last checkpoint; goes on after a pause', () => {
    const resumed = { ...job, resume: true, resumeStep: 3, threads: 1 };
    expect(attemptJob(resumed, [backend(1), checkpoint(3), finished('paused')])).toBe(resumed);
  });

  it('does nothing when the run already completed or was cancelled', () => {
    expect(attemptJob(job, [checkpoint(8), finished('completed')])).toBe('finished');
    expect(attemptJob(job, [finished('cancelled')])).toBe('finished');
  });
});
