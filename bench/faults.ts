/**
 * `npm run faults`: the fault suite. Runs a kill storm (bench/faults/kill-storm.ts) against the real
 * CLI and prints a table: scenario, how many times, what was checked, result. Exits 1 if a check fails.
 *
 *   npm run faults                       20 kills, cycling worker / supervisor+worker / supervisor
 *   npm run faults -- --kills 5 --epochs 6 --seed 3 --json
 *
 * Damaged files and a full disk are covered by vitest files (test/engine/train/checkpoint-faults,
 * test/store/open, test/store/metrics-writer, test/jobs/disk-full); `npm test` runs them.
 */
import { parseArgs } from 'node:util';
import { runKillStorm, type KillTarget } from './faults/kill-storm';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    epochs: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const whole = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`npm run faults: --${name} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};
const kills = whole('kills', values.kills!, 0);
const epochs = whole('epochs', values.epochs!, 2);
const seed = whole('seed', values.seed!, 0);

const targets: KillTarget[] = ['worker', 'supervisor+worker', 'supervisor'];
const r = await runKillStorm({ kills, targets, epochs, seed, log: (l) => console.error(l) });

const count = (t: KillTarget) => r.kills.filter((k) => k.target === t).length;
const scenario = `kill storm, ${r.totalSteps} steps`;
const times = `${r.kills.length} SIGKILL (${targets.map((t) => `${t} ${count(t)}`).join(', ')})`;
const rows: [string, string, string, boolean, string][] = [
  [scenario, times, 'run completes', r.status === 'completed', r.status],
  [
    scenario,
    times,
    'every step’s metrics exactly once',
    r.metricsExactlyOnce,
    `${r.metricRows.storm} rows, ${r.metricKeys} keys (uninterrupted: ${r.metricRows.reference})`,
  ],
  [
    scenario,
    times,
    'PRAGMA integrity_check, foreign keys',
    r.integrity.join() === 'ok' && r.foreignKeyViolations === 0,
    `${r.integrity.join('; ')}, ${r.foreignKeyViolations} fk violation(s)`,
  ],
  [
    scenario,
    times,
    'final weights = uninterrupted run, bit for bit',
    r.weightsEqual,
    r.weightsEqual
      ? `${r.tensorsCompared} tensors equal (processes on: ${r.threadCounts.join(', ')} thread(s))`
      : `${r.differing.length}/${r.tensorsCompared} tensors differ (max |Δ| ${Math.max(...r.differing.map((d) => d.maxAbsDiff)).toExponential(2)}); first loss difference at step ${r.firstLossDifference?.step ?? '—'}; processes on: ${r.threadCounts.join(', ')} thread(s)`,
  ],
];

if (values.json) console.log(JSON.stringify(r, null, 2));
const table = [
  ['scenario', 'times', 'checked', 'result', 'detail'],
  ...rows.map(([a, b, c, ok, d]) => [a, b, c, ok ? 'PASS' : 'FAIL', d]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const row of table)
  console.log(
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
console.log(
  `(${r.seconds.toFixed(0)} s; kill points: ${r.kills.map((k) => `${k.target}@${k.afterStep}+${k.delayMs}ms→${k.resumedFrom}`).join(' ')})`,
);
process.exit(rows.every((row) => row[3]) ? 0 : 1);
