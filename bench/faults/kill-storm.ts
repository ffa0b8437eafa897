/**
 * Kill storm: a tiny pretraining run, started with the real `selfemd` CLI (the supervisor, which
 * spawns the engine worker), is killed with SIGKILL at random points — the worker only, the
 * supervisor only, or both at once — and resumed with `selfemd resume` each time, until it completes.
 * Then it checks what a user relies on: the run completed; its metrics are the same (key, step) pairs
 * as an uninterrupted run's, each exactly once; the database passes `PRAGMA integrity_check`; and the
 * final checkpoint's tensors equal, bit for bit, those of an uninterrupted run with the same seed.
 * Used by `npm run faults` (bench/faults.ts) and, with a few kills, by test/jobs/kill-storm.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadCheckpoint } from '../../src-main/engine/train/checkpoint';
import { createRng } from '../../src-main/engine/data/rng';
import { TINY_PRETRAIN } from '../../test/jobs/tiny-run';
import { fileHealth } from '../../test/store/helpers';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SELFEMD = path.join(repoRoot, 'bin/selfemd.mjs');

export type KillTarget = 'worker' | 'supervisor' | 'supervisor+worker';

export interface KillStormOptions {
  /** SIGKILLs to deliver (fewer if the run completes first). */
  kills: number;
  /** Who is killed, in turn. */
  targets: readonly KillTarget[];
  /** Epochs of the tiny run (2 steps each). */
  epochs: number;
  /** Seed of the kill points (the run's own seed is the config's). */
  seed: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface KillRecord {
  target: KillTarget;
  /** The step the kill waited for (metrics committed up to it), and the extra random delay. */
  afterStep: number;
  delayMs: number;
  /** The run's last recorded checkpoint when the next process resumed it. */
  resumedFrom: number | null;
}

export interface KillStormResult {
  runId: string;
  totalSteps: number;
  kills: KillRecord[];
  status: string;
  /** Metric keys, and whether the storm's (key, step) pairs equal the uninterrupted run's, each once. */
  metricKeys: number;
  metricRows: { storm: number; reference: number };
  metricsExactlyOnce: boolean;
  integrity: string[];
  foreignKeyViolations: number;
  weightsEqual: boolean;
  tensorsCompared: number;
  /** Tensors whose bytes differ, with the largest absolute difference. */
  differing: { name: string; maxAbsDiff: number }[];
  /** The first step whose loss differs from the uninterrupted run's (null: none). */
  firstLossDifference: { step: number; storm: number; reference: number } | null;
  /** Lines of the run log that said a checkpoint was damaged or discarded (expected: discarded ones only). */
  resumeNotes: string[];
  /** The distinct `backend threads` pairs the storm's processes reported (one expected). */
  threadCounts: string[];
  seconds: number;
}

interface Cli {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/**
 * Both runs on one wasm thread: left to measure, each start may pick another count (and with it
 * another GEMM, another rounding) under a changing load. A resumed run keeps the count its record
 * holds regardless (RunManager.resume), which is what the storm checks.
 */
const THREADS = '1';

function startCli(home: string, args: string[]): Cli {
  const child = spawn(process.execPath, [SELFEMD, ...args], {
    cwd: repoRoot,
    env: { ...process.env, SELFEMD_HOME: home, SELFEMD_WASM_THREADS: THREADS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false,
  timeoutMs = 240_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`kill storm: timed out waiting for ${what}`);
    await sleep(40);
  }
}

/** Read-only queries on a studio database that another process writes (WAL: never blocks it). */
function query<T>(file: string, sql: string, ...params: unknown[]): T[] {
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } catch {
    return []; // not migrated yet
  } finally {
    db.close();
  }
}

/** Live child processes of `pid` (a zombie no longer runs, so it does not count). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function killStormConfig(epochs: number): Record<string, unknown> {
  return { ...TINY_PRETRAIN, seed: 7, optim: { ...TINY_PRETRAIN.optim, epochs } };
}

/** A run's final checkpoint folder and metrics, from its studio home. */
function finalState(home: string, runId: string) {
  const db = path.join(home, 'studio.db');
  const [last] = query<{ path: string; step: number }>(
    db,
    'SELECT path, step FROM checkpoints WHERE run_id = ? AND is_last = 1',
    runId,
  );
  const metrics = query<{ key: string; step: number; value: number | null }>(
    db,
    'SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step',
    runId,
  );
  const [run] = query<{ status: string; step: number; total_steps: number }>(
    db,
    'SELECT status, step, total_steps FROM runs WHERE id = ?',
    runId,
  );
  return { last, metrics, run };
}

export async function runKillStorm(opts: KillStormOptions): Promise<KillStormResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-killstorm-'));
  const configFile = path.join(work, 'tiny.json');
  fs.writeFileSync(configFile, JSON.stringify(killStormConfig(opts.epochs)));
  const pretrain = (name: string) => ['pretrain', '--config', configFile, '--data', 'demo', '--name', name];
  const rng = createRng(opts.seed);
  try {
    // The uninterrupted run, and the stormed one, side by side (two homes, two processes at once).
    const refHome = path.join(work, 'reference');
    const stormHome = path.join(work, 'storm');
    const reference = startCli(refHome, pretrain('reference'));
    let cli = startCli(stormHome, pretrain('storm'));
    const stormDb = path.join(stormHome, 'studio.db');
    const runId = await waitFor(
      'the storm run to be recorded',
      () => query<{ id: string }>(stormDb, 'SELECT id FROM runs').at(0)?.id,
    );
    const [{ total_steps: total }] = await waitFor('the run to know its length', () => {
      const r = query<{ total_steps: number | null }>(
        stormDb,
        'SELECT total_steps FROM runs WHERE id = ?',
        runId,
      );
      return r[0]?.total_steps ? (r as { total_steps: number }[]) : undefined;
    });
    const committedStep = () =>
      query<{ s: number | null }>(
        stormDb,
        "SELECT max(step) AS s FROM metrics WHERE run_id = ? AND key = 'loss/total'",
        runId,
      )[0]?.s ?? 0;
    const lastCheckpoint = () =>
      query<{ step: number }>(
        stormDb,
        'SELECT step FROM checkpoints WHERE run_id = ? AND is_last = 1',
        runId,
      )[0]?.step ?? null;

    const outputs: (() => string)[] = [cli.output];
    const kills: KillRecord[] = [];
    let done = false;
    cli.exited.then(
      () => (done = true),
      () => undefined,
    );
    // Kill points spread over the first two thirds of the run, in order (more kills than steps: some
    // land during a start-up), leaving a fast machine the time to deliver them before the run ends.
    const span = Math.max(1, Math.floor((2 * total) / 3));
    const points = Array.from({ length: opts.kills }, () => 1 + Math.floor(rng.next() * span));
    points.sort((x, y) => x - y);
    for (let i = 0; i < opts.kills; i++) {
      const target = opts.targets[i % opts.targets.length];
      const afterStep = points[i];
      const delayMs = Math.floor(rng.next() * 250);
      // A kill at a step already passed lands during the resumed process's start-up.
      const worker = await waitFor(`step ${afterStep} (or the end)`, () => {
        if (done) return -1;
        const kids = childrenOf(cli.child.pid!);
        return kids.length > 0 && committedStep() >= Math.min(afterStep, total) ? kids[0] : undefined;
      });
      if (worker === -1) break;
      await sleep(delayMs);
      if (done) break;
      const workers = childrenOf(cli.child.pid!);
      if (target !== 'supervisor') workers.forEach(kill);
      if (target !== 'worker') kill(cli.child.pid!);
      await cli.exited;
      // An orphaned worker checkpoints and stops on its own: never resume while it still runs.
      await waitFor('the old worker to stop', () => workers.every((p) => !running(p)));
      const resumedFrom = lastCheckpoint();
      kills.push({ target, afterStep, delayMs, resumedFrom });
      log(
        `kill ${i + 1}/${opts.kills}: ${target} after step ${afterStep} + ${delayMs} ms; resuming from step ${resumedFrom}`,
      );
      cli = startCli(stormHome, ['resume', runId]);
      outputs.push(cli.output);
      done = false;
      cli.exited.then(
        () => (done = true),
        () => undefined,
      );
    }
    const last = await cli.exited;
    const refExit = await reference.exited;
    if (refExit.code !== 0) throw new Error(`kill storm: the reference run failed:\n${reference.output()}`);
    if (last.code !== 0) throw new Error(`kill storm: the last resume failed:\n${cli.output()}`);

    const storm = finalState(stormHome, runId);
    const refRunId = query<{ id: string }>(path.join(refHome, 'studio.db'), 'SELECT id FROM runs')[0].id;
    const ref = finalState(refHome, refRunId);
    const health = fileHealth(stormDb);

    const pairs = (m: { key: string; step: number }[]) => m.map((p) => `${p.key}@${p.step}`);
    const stormPairs = pairs(storm.metrics);
    const metricsExactlyOnce =
      new Set(stormPairs).size === stormPairs.length &&
      JSON.stringify(stormPairs) === JSON.stringify(pairs(ref.metrics));

    const a = loadCheckpoint(storm.last.path);
    const b = loadCheckpoint(ref.last.path);
    const differing: { name: string; maxAbsDiff: number }[] = [];
    for (const [name, t] of b.tensors) {
      const u = a.tensors.get(name);
      if (!u || u.data.length !== t.data.length) {
        differing.push({ name, maxAbsDiff: Infinity });
        continue;
      }
      const x = Buffer.from(u.data.buffer);
      const y = Buffer.from(t.data.buffer);
      if (x.equals(y)) continue;
      let max = 0;
      for (let k = 0; k < t.data.length; k++) max = Math.max(max, Math.abs(u.data[k] - t.data[k]));
      differing.push({ name, maxAbsDiff: max });
    }
    const loss = (m: typeof storm.metrics) => m.filter((p) => p.key === 'loss/total');
    const refLoss = new Map(loss(ref.metrics).map((p) => [p.step, p.value]));
    const firstDiff = loss(storm.metrics).find((p) => !Object.is(p.value, refLoss.get(p.step)));
    const lines = outputs.flatMap((o) => o().split('\n'));
    const resumeNotes = lines.filter((l) => /damaged|discarded|falling back/.test(l));
    // Every storm process says which backend and thread count it trained on.
    const threadCounts = [
      ...new Set(
        lines.flatMap(
          (l) => /backend: (\S+) \(TF\.js [^,]+, (\d+) thread/.exec(l)?.slice(1, 3).join(' ') ?? [],
        ),
      ),
    ];

    return {
      runId,
      totalSteps: total,
      kills,
      status: storm.run.status,
      metricKeys: new Set(storm.metrics.map((p) => p.key)).size,
      metricRows: { storm: storm.metrics.length, reference: ref.metrics.length },
      metricsExactlyOnce,
      integrity: health.integrity,
      foreignKeyViolations: health.foreignKeyViolations,
      weightsEqual: differing.length === 0 && a.tensors.size === b.tensors.size && storm.last.step === total,
      tensorsCompared: b.tensors.size,
      differing,
      firstLossDifference: firstDiff
        ? {
            step: firstDiff.step,
            storm: firstDiff.value ?? NaN,
            reference: refLoss.get(firstDiff.step) ?? NaN,
          }
        : null,
      resumeNotes,
      threadCounts,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
