/**
 * Kills a writer process with SIGKILL at random moments and checks that nothing it reported as committed
 * is lost, that no batch is torn, and that the file stays sound. Three crash/restart cycles on one file.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store/db';
import { fileHealth, pretrainRun, tempStoreDir } from './helpers';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const fixture = join(here, 'fixtures/metrics-child.ts');

interface ChildRun {
  firstStep: number;
  flushes: { lastStep: number; count: number }[];
  signal: NodeJS.Signals | null;
}

/** Runs the child until it has reported `flushesBeforeKill` commits, then SIGKILLs it after a random delay. */
function runUntilKilled(file: string, runId: string, flushesBeforeKill: number): Promise<ChildRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, runId], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result: ChildRun = { firstStep: -1, flushes: [], signal: null };
    let out = '';
    let err = '';
    let killing = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`child never reached ${flushesBeforeKill} flushes; stderr:\n${err}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const [word, a, b] = line.split(' ');
        if (word === 'ready') result.firstStep = Number(a);
        if (word === 'flushed') result.flushes.push({ lastStep: Number(a), count: Number(b) });
      }
      if (!killing && result.flushes.length >= flushesBeforeKill) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 25));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      result.signal = signal;
      if (signal !== 'SIGKILL') fail(new Error(`child exited on its own (code ${code}); stderr:\n${err}`));
      else done(result); // a partial last line (no newline) is ignored: it does not claim anything
    });
  });
}

describe('crash safety', () => {
  const tmp = tempStoreDir();
  const file = tmp.file('crash.db');
  let runId: string;
  beforeAll(() => {
    const store = openStore(file);
    runId = store.createRun(pretrainRun()).id;
    store.close();
  });
  afterAll(() => tmp.cleanup());

  it('keeps every committed batch across SIGKILLs and leaves a sound file', async () => {
    let reportedMax = -1;
    const batchSizes: number[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const child = await runUntilKilled(file, runId, 30 + 10 * cycle);
      expect(child.signal).toBe('SIGKILL');
      // The child resumed right after the last committed step of the previous life.
      expect(child.firstStep).toBeGreaterThan(reportedMax);
      expect(child.flushes.length).toBeGreaterThanOrEqual(30);
      batchSizes.push(...child.flushes.map((f) => f.count));
      reportedMax = Math.max(reportedMax, ...child.flushes.map((f) => f.lastStep));

      expect(fileHealth(file)).toEqual({ integrity: ['ok'], foreignKeyViolations: 0 });
      const raw = new Database(file);
      const count = (key: string, upTo = Number.MAX_SAFE_INTEGER): number =>
        raw
          .prepare('SELECT count(*) FROM metrics WHERE run_id = ? AND key = ? AND step <= ?')
          .pluck()
          .get(runId, key, upTo) as number;
      const maxStep = raw
        .prepare('SELECT max(step) FROM metrics WHERE run_id = ?')
        .pluck()
        .get(runId) as number;

      // Every step the child reported as committed is there, for both keys, with no gaps before it.
      expect(count('loss', reportedMax)).toBe(reportedMax + 1);
      expect(count('lr', reportedMax)).toBe(reportedMax + 1);
      // Commits after the last report (killed before printing) may exist, but no batch is torn:
      // the two keys of a step are always committed together, and steps are contiguous.
      expect(maxStep).toBeGreaterThanOrEqual(reportedMax);
      expect(count('loss')).toBe(maxStep + 1);
      expect(count('lr')).toBe(maxStep + 1);
      raw.close();

      // Reopening through the store: the run shows as interrupted, not running forever.
      const store = openStore(file);
      const marked = store.markInterruptedRuns();
      expect(marked.map((r) => r.id)).toEqual([runId]);
      expect(marked[0].error).toMatch(/^interrupted: process \d+ is gone$/);
      expect(store.getMetrics(runId, ['loss'])[0].totalPoints).toBe(maxStep + 1);
      store.close();
    }
    // Both commit paths ran: full batches (64 points = 32 steps) and partial ones from the interval timer.
    expect(batchSizes).toContain(64);
    expect(batchSizes.some((n) => n < 64)).toBe(true);
  }, 60_000);
});
