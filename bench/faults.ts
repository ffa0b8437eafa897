/**
 * `npm run faults`: the fault suite. Runs each scenario against real processes and prints a table:
 * scenario, how many times, what was checked, result. Exits 1 if a check fails.
 *
 *   npm run faults                                   every scenario at full counts
 *   npm run faults -- --only storm,supervisors       some of them
 *   npm run faults -- --kills 5 --epochs 6 --seed 3 --threads 2 --json
 *
 * Damaged files and a full disk during training are covered by vitest files (test/engine/train/checkpoint-faults,
 * test/store/open, test/store/metrics-writer, test/jobs/disk-full); an import on a full disk is a
 * scenario here too (`import-disk-full`, a real full tmpfs where it can be mounted);
 * `npm test` runs them, and the short version of each scenario here (test/jobs/kill-storm,
 * test/jobs/two-supervisors, test/server/malformed-corpus, …).
 */
import { parseArgs } from 'node:util';
import { runKillStorm, type KillMoment, type KillStormResult, type KillTarget } from './faults/kill-storm';
import { runTwoSupervisors } from './faults/two-supervisors';
import { runApiFuzz } from './faults/api-fuzz';
import { CHART_MAX_POINTS, runLoad } from './faults/load';
import { runMalformedCorpus } from './faults/malformed-corpus';
import { runImportDiskFull } from './faults/import-disk-full';

const SCENARIOS = [
  'storm',
  'finetune-storm',
  'supervisors',
  'fuzz',
  'load',
  'corpus',
  'import-disk-full',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: SCENARIOS.join(',') },
    kills: { type: 'string', default: '20' },
    epochs: { type: 'string', default: '12' },
    seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    'fuzz-rounds': { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  },
});
const fail = (message: string): never => {
  console.error(`npm run faults: ${message}`);
  process.exit(2);
};
const whole = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    fail(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
};
const kills = whole('kills', values.kills!, 0);
const epochs = whole('epochs', values.epochs!, 2);
const seed = whole('seed', values.seed!, 0);
const threads = whole('threads', values.threads!, 1);
const fuzzRounds = whole('fuzz-rounds', values['fuzz-rounds']!, 1);
const only = values.only!.split(',').map((s) => s.trim()) as Scenario[];
for (const s of only)
  if (!SCENARIOS.includes(s)) fail(`--only: unknown scenario ${s} (known: ${SCENARIOS.join(', ')})`);

interface Row {
  scenario: string;
  times: string;
  checked: string;
  ok: boolean;
  detail: string;
}
const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const log = (l: string) => console.error(l);

const targets: KillTarget[] = ['worker', 'supervisor+worker', 'supervisor'];
const moments: KillMoment[] = ['delay', 'checkpoint-write', 'metrics-flush'];

function stormRows(task: string, r: KillStormResult): void {
  const count = (t: KillTarget) => r.kills.filter((k) => k.target === t).length;
  const at = (m: KillMoment) => {
    const of = r.kills.filter((k) => k.moment === m);
    return `${m} ${of.filter((k) => k.caught).length}/${of.length}`;
  };
  const scenario = `kill storm: ${task}, ${r.totalSteps} steps`;
  const times =
    `${r.kills.length} SIGKILL (${targets.map((t) => `${t} ${count(t)}`).join(', ')}; ` +
    `moments caught: ${moments.map(at).join(', ')})`;
  const row = (checked: string, ok: boolean, detail: string) =>
    rows.push({ scenario, times, checked, ok, detail });
  row('run completes', r.status === 'completed', r.status);
  row(
    'every step’s metrics exactly once',
    r.metricsExactlyOnce,
    `${r.metricRows.storm} rows, ${r.metricKeys} keys (uninterrupted: ${r.metricRows.reference})`,
  );
  row(
    'PRAGMA integrity_check, foreign keys',
    r.integrity.join() === 'ok' && r.foreignKeyViolations === 0,
    `${r.integrity.join('; ')}, ${r.foreignKeyViolations} fk violation(s)`,
  );
  row(
    'final weights = uninterrupted run, bit for bit',
    r.weightsEqual,
    r.weightsEqual
      ? `${r.tensorsCompared} tensors equal (processes on: ${r.threadCounts.join(', ')} thread(s))`
      : `${r.differing.length}/${r.tensorsCompared} tensors differ (max |Δ| ${Math.max(...r.differing.map((d) => d.maxAbsDiff)).toExponential(2)}); first loss difference at step ${r.firstLossDifference?.step ?? '—'}; processes on: ${r.threadCounts.join(', ')} thread(s)`,
  );
  row('no process crashed (uncaught error)', r.crashes.length === 0, r.crashes[0] ?? 'none');
}

for (const task of ['pretrain', 'finetune'] as const) {
  if (!only.includes(task === 'pretrain' ? 'storm' : 'finetune-storm')) continue;
  const r = await runKillStorm({ task, kills, targets, moments, epochs, seed, threads, log });
  raw[`${task} storm`] = r;
  stormRows(task, r);
  log(
    `(${task}: ${r.seconds.toFixed(0)} s; kill points: ${r.kills.map((k) => `${k.target}@${k.afterStep}:${k.moment === 'delay' ? `+${k.delayMs}ms` : k.moment}→${k.resumedFrom}`).join(' ')})`,
  );
}
if (only.includes('supervisors')) {
  const r = await runTwoSupervisors({ epochs });
  raw.supervisors = r;
  for (const c of r.checks)
    rows.push({
      scenario: 'two supervisors, one home',
      times: 'CLI, studio (browser mode), kill, race',
      checked: c.what,
      ok: c.ok,
      detail: c.detail,
    });
}

if (only.includes('fuzz')) {
  const r = await runApiFuzz({ calls: fuzzRounds, seed, log });
  raw.fuzz = r;
  const scenario = 'hostile API input';
  const times = `${r.calls} calls (${r.methods} methods × ${fuzzRounds}): ${r.accepted} accepted, refused ${Object.entries(
    r.refused,
  )
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}`;
  const about = (test: RegExp) => r.findings.filter((f) => test.test(f.problem));
  const row = (checked: string, found: typeof r.findings) =>
    rows.push({
      scenario,
      times,
      checked,
      ok: found.length === 0,
      detail: found.length
        ? `${found.length}: ${found[0]!.method} ${found[0]!.args} → ${found[0]!.problem}`
        : 'none',
    });
  row('an answer within 15 s, and the event loop never held > 500 ms', about(/no answer|event loop/));
  row('an envelope; refusals: known code, never internal', about(/envelope|code/));
  row('refusal messages short; invalid ones name the field', about(/message|naming/));
  row('a refused call changes no store row', about(/store changed/));
  rows.push({
    scenario,
    times,
    checked: 'nothing written outside home + chosen folder',
    ok: r.writtenOutside.length === 0,
    detail:
      r.writtenOutside.join('; ') || `none (slowest call ${r.slowest.method} ${r.slowest.ms.toFixed(0)} ms)`,
  });
}

if (only.includes('load')) {
  const r = await runLoad({ epochs: 4, pollMs: 250, longSteps: 100_000 });
  raw.load = r;
  const scenario = 'load';
  const times = `3 pretrainings + 1 fine-tune, ${r.calls} HTTP calls polling`;
  const row = (checked: string, ok: boolean, detail: string) =>
    rows.push({ scenario, times, checked, ok, detail });
  const f = (x: number) => x.toFixed(0);
  row(
    'API latency p99 < 100 ms',
    r.latencyMs.p99 < 100,
    `p50 ${r.latencyMs.p50.toFixed(1)} ms, p99 ${f(r.latencyMs.p99)} ms, max ${f(r.latencyMs.max)} ms`,
  );
  row(
    'every run completes, each step’s loss exactly once',
    r.runs.every((x) => x.status === 'completed' && x.steps === x.totalSteps && x.duplicated === 0),
    r.runs.map((x) => `${x.name} ${x.status} ${x.steps}/${x.totalSteps}`).join(', '),
  );
  row(
    `100 000-step run (${r.longRun.rows} rows) loads in < 200 ms`,
    Math.max(...r.longRun.loadMs) < 200,
    `${r.longRun.loadMs.map(f).join(', ')} ms`,
  );
  row(
    `downsampled to ≤ ${CHART_MAX_POINTS} points, ends and a one-step spike kept`,
    r.longRun.pointsPerSeries <= CHART_MAX_POINTS && r.longRun.keptEnds && r.longRun.keptSpike,
    `${r.longRun.pointsPerSeries} points a series`,
  );
}

if (only.includes('corpus')) {
  const r = await runMalformedCorpus({ log });
  raw.corpus = r;
  const imported = r.cases.filter((c) => c.outcome === 'imported').length;
  const refused = r.cases.filter((c) => c.outcome === 'refused').length;
  const scenario = 'bad input: malformed corpus';
  const times = `${r.cases.length} cases through datasets.import (${imported} imported, ${refused} refused, ${r.cases.length - imported - refused} left out)`;
  for (const c of r.cases)
    rows.push({
      scenario,
      times,
      checked: c.name,
      ok: c.ok,
      detail: c.outcome.startsWith('left out')
        ? c.outcome
        : `${c.outcome === 'refused' ? 'refused, no good item' : `imported ${c.goodImported} of ${c.goodExpected} good`}; bad named ${c.named}/${c.expectedBad}` +
          (c.problems.length ? `; ${c.problems.join('; ')}` : ''),
    });
  rows.push({
    scenario,
    times,
    checked: 'datasets, runs and dataset files recorded before unchanged',
    ok: r.lost.length === 0,
    detail:
      r.lost.join('; ') ||
      `${r.before.datasets} datasets, ${r.before.runs} run(s) unchanged (${r.seconds.toFixed(1)} s)`,
  });
}

if (only.includes('import-disk-full')) {
  const r = await runImportDiskFull({ mode: 'auto' });
  raw.importDiskFull = r;
  for (const c of r.checks)
    rows.push({
      scenario: 'full disk: datasets.import meets ENOSPC',
      times: `${r.imports} imports (${r.mode === 'tmpfs' ? 'a full 256 KiB tmpfs' : 'ENOSPC injected at the write seam'})`,
      checked: c.what,
      ok: c.ok,
      detail: c.detail,
    });
}

if (values.json) console.log(JSON.stringify(raw, null, 2));
const table = [
  ['scenario', 'times', 'checked', 'result', 'detail'],
  // A scenario and its counts once, on its first row.
  ...rows.map((r, i) => {
    const first = i === 0 || rows[i - 1]!.scenario !== r.scenario;
    return [
      first ? r.scenario : '',
      first ? r.times : '',
      r.checked,
      r.ok ? 'PASS' : 'FAIL',
      r.detail.slice(0, 160),
    ];
  }),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
for (const row of table)
  console.log(
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
process.exit(rows.every((r) => r.ok) ? 0 : 1);
