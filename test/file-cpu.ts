/**
 * With SELFEMD_TEST_CPU_LOG=<file> (vitest `setupFiles`): after each test file, appends one JSON line
 * with the CPU seconds its process used, itself and its waited-for children (training processes,
 * servers, browsers, with their own children), and its wall seconds. On 2 cores the suite's wall
 * time is about the sum of the CPU over 2, so this is what to read when the suite grows slow.
 * Processes a file starts detached that outlive their parent are not counted (they are reaped by
 * init). Linux only (/proc); a no-op elsewhere and without the variable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { afterAll, expect } from 'vitest';

const log = process.env.SELFEMD_TEST_CPU_LOG;
const started = Date.now();

/** utime, stime, cutime, cstime of this process from /proc/self/stat, in seconds. */
function cpuSeconds(): { self: number; children: number } | null {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, so fields[11]; stime [12], cutime [13], cstime [14]
    const tick = 100; // USER_HZ on Linux
    const n = (i: number) => Number(fields[i]) / tick;
    return { self: n(11) + n(12), children: n(13) + n(14) };
  } catch {
    return null;
  }
}

// In the shared worker thread (vitest.config.ts UNIT) /proc/self is the whole vitest process: those
// files are not logged one by one.
if (log && isMainThread) {
  const file = path.relative(process.cwd(), expect.getState().testPath ?? '');
  afterAll(() => {
    const cpu = cpuSeconds();
    if (!cpu) return;
    const line = { file, ...cpu, cpu: cpu.self + cpu.children, wall: (Date.now() - started) / 1000 };
    fs.appendFileSync(log, `${JSON.stringify(line)}\n`);
  });
}
