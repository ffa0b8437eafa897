/**
 * Kill storm: a tiny pretraining or fine-tuning run, started with the real `selfemd` CLI (the
 * supervisor, which spawns the engine worker), is killed with SIGKILL at random points — the worker
 * only, the supervisor only, or both at once; a while after a step, the moment a checkpoint folder
 * is being written, or the moment the supervisor writes the database (a metrics flush) — and resumed
 * with `selfemd resume` each time, until it completes. Then it checks what a user relies on: the run
 * completed; its metrics are the same (key, step) pairs as an uninterrupted run's, each exactly once;
 * the database passes `PRAGMA integrity_check`; and the final checkpoint's tensors equal, bit for
 * bit, those of an uninterrupted run with the same seed.
 * Used by `npm run faults` (bench/faults.ts) and, with a few kills, by test/jobs/kill-storm.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint } from '../../src-main/engine/train/checkpoint';
import { createRng } from '../../src-main/engine/data/rng';
import { TINY_FINETUNE, TINY_PRETRAIN } from '../../test/jobs/tiny-run';
import { fileHealth } from '../../test/store/helpers';

import { childrenOf, committedStep, kill, query, running, sleep, startCli, waitFor } from './processes';

export type KillTarget = 'worker' | 'supervisor' | 'supervisor+worker';
/**
 * When the kill lands once the chosen step is committed: after a random delay; the instant a
 * checkpoint's temporary folder appears (mid-write); the instant the database's WAL is written
 * (a metrics batch, a progress heartbeat or a checkpoint record being committed).
 */
export type KillMoment = 'delay' | 'checkpoint-write' | 'metrics-flush';
export type StormTask = 'pretrain' | 'finetune';

export interface KillStormOptions {
  /** The run stormed (default pretrain). */
  task?: StormTask;
  /** When kills land, in turn (default: after a random delay only). */
  moments?: readonly KillMoment[];
  /** SIGKILLs to deliver (fewer if the run completes first). */
  kills: number;
  /** Who is killed, in turn. */
  targets: readonly KillTarget[];
  /** Epochs of the tiny run (2 steps each, either task). */
  epochs: number;
  /** Seed of the kill points (the run's own seed is the config's). */
  seed: number;
  /** The wasm thread count of both runs (default 1; see THREADS). */
  threads?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** A folder to write each process's output to (process-N.log), for a closer look. */
  outputDir?: string;
}

export interface KillRecord {
  target: KillTarget;
  moment: KillMoment;
  /** Whether the moment was caught (a checkpoint folder still half-written, a WAL write seen); false: killed after a timeout. */
  caught: boolean;
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
  /** Uncaught errors any storm process printed (a SIGKILL prints nothing; an orphan must not crash). */
  crashes: string[];
  /** The distinct `backend threads` pairs the storm's processes reported (one expected). */
  threadCounts: string[];
  seconds: number;
}

export function killStormConfig(task: StormTask, epochs: number): Record<string, unknown> {
  const tiny = task === 'pretrain' ? TINY_PRETRAIN : TINY_FINETUNE;
  return { ...tiny, seed: 7, optim: { ...tiny.optim, epochs } };
}

/**
 * Resolves once `file` (a folder: an entry of it whose name passes `name`) changes, or after
 * `timeoutMs`, with whether it did. Reacts inside the event that reports the change, so a kill that
 * follows lands while the write is under way or just done.
 */
function nextChange(file: string, name: (entry: string) => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let watcher: fs.FSWatcher | undefined;
    const finish = (hit: boolean) => {
      clearTimeout(timer);
      watcher?.close();
      resolve(hit);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    try {
      watcher = fs.watch(file, (_event, entry) => {
        if (entry === null || name(entry)) finish(true);
      });
    } catch {
      finish(false); // not there yet
    }
  });
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
  const task = opts.task ?? 'pretrain';
  const moments = opts.moments ?? ['delay'];
  const threads = opts.threads ?? 1;
  fs.writeFileSync(configFile, JSON.stringify(killStormConfig(task, opts.epochs)));
  const start = (name: string) =>
    task === 'pretrain'
      ? ['pretrain', '--config', configFile, '--data', 'demo', '--name', name]
      : ['finetune', '--config', configFile, '--name', name];
  const rng = createRng(opts.seed);
  try {
    // The uninterrupted run, and the stormed one, side by side (two homes, two processes at once).
    const refHome = path.join(work, 'reference');
    const stormHome = path.join(work, 'storm');
    const reference = startCli(refHome, start('reference'), threads);
    let cli = startCli(stormHome, start('storm'), threads);
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
    const committed = () => committedStep(stormDb, runId);
    const lastCheckpoint = () =>
      query<{ step: number }>(
        stormDb,
        'SELECT step FROM checkpoints WHERE run_id = ? AND is_last = 1',
        runId,
      )[0]?.step ?? null;

    // A CLI fine-tune trains in runs/<its name>, a pretraining in runs/<its id>.
    const checkpointsDir = path.join(stormHome, 'runs', task === 'finetune' ? 'storm' : runId, 'checkpoints');
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
      // Shifted by one each round of targets, so that consecutive kills differ in both and, with as
      // many moments as targets, every target meets every moment within targets² kills.
      const moment = moments[(i + Math.floor(i / opts.targets.length)) % moments.length]!;
      const afterStep = points[i];
      const delayMs = moment === 'delay' ? Math.floor(rng.next() * 250) : 0;
      // A kill at a step already passed lands during the resumed process's start-up.
      const worker = await waitFor(`step ${afterStep} (or the end)`, () => {
        if (done) return -1;
        const kids = childrenOf(cli.child.pid!);
        return kids.length > 0 && committed() >= Math.min(afterStep, total) ? kids[0] : undefined;
      });
      if (worker === -1) break;
      let caught = true;
      if (moment === 'delay') await sleep(delayMs);
      else if (moment === 'checkpoint-write')
        caught = await nextChange(checkpointsDir, (e) => e.includes('.tmp-'), 20_000);
      else caught = await nextChange(`${stormDb}-wal`, () => true, 20_000);
      if (done) break;
      const workers = childrenOf(cli.child.pid!);
      if (target !== 'supervisor') workers.forEach(kill);
      if (target !== 'worker') kill(cli.child.pid!);
      // Mid-write only if the half-written folder is still there after the kill (a worker left alive
      // finishes it, so for the supervisor alone it was there just before).
      if (moment === 'checkpoint-write')
        caught &&= fs.readdirSync(checkpointsDir).some((e) => e.includes('.tmp-'));
      await cli.exited;
      // An orphaned worker checkpoints and stops on its own: never resume while it still runs.
      await waitFor('the old worker to stop', () => workers.every((p) => !running(p)));
      const resumedFrom = lastCheckpoint();
      kills.push({ target, moment, caught, afterStep, delayMs, resumedFrom });
      log(
        `kill ${i + 1}/${opts.kills}: ${target} after step ${afterStep}, ${moment === 'delay' ? `+${delayMs} ms` : `${moment}${caught ? '' : ' (not caught: timeout)'}`}; resuming from step ${resumedFrom}`,
      );
      cli = startCli(stormHome, ['resume', runId], threads);
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
    if (opts.outputDir) {
      fs.mkdirSync(opts.outputDir, { recursive: true });
      outputs.forEach((o, i) => fs.writeFileSync(path.join(opts.outputDir!, `process-${i}.log`), o()));
    }
    // (Lines are cut short: a crash report may quote a whole one-line bundle.)
    const resumeNotes = lines
      .filter((l) => /damaged|discarded|falling back/.test(l))
      .map((l) => l.slice(0, 300));
    const crashes = lines.filter((l) => /^(\w*Error|Uncaught)\b.*: /.test(l)).map((l) => l.slice(0, 300));
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
      crashes,
      threadCounts,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
