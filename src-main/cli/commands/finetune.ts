/**
 * `selfemd finetune`: fine-tune a RetinaNet or Faster R-CNN from a pretraining run, an exported
 * backbone file or random init, then evaluate it on the val set. Runs in this process (the engine's
 * runFinetune is worker-ready: hooks in, checkpoints out) and records the run in the studio's store as
 * it trains (metrics, checkpoints, evaluations), so the studio shows it and can resume it. Ctrl-C
 * pauses at a checkpoint; `--resume` continues the run named by --name / --out from its last recorded
 * checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, mergeDefaults } from '../../../shared/config/validation';
import {
  cpuFinetuneOverrides,
  finetuneSizeOverrides,
  resolveFinetuneConfig,
  type FinetuneConfig,
  type InitKind,
} from '../../../shared/config/finetune';
import { initBackend } from '../../engine/backend/select';
import { inspectBackboneInit } from '../../engine/detection/backbone-init';
import { loadDetectionData } from '../../engine/detection/datasets';
import { runFinetune } from '../../engine/detection/finetune';
import { formatCocoStats } from '../../engine/eval/cocoeval';
import { MetricsWriter, openStore } from '../../store';
import type { StopRequest } from '../../engine/train/training-hooks';
import {
  finishFinetuneRecord,
  recordFinetuneEvaluation,
  startFinetuneRecord,
  type FinetuneRecordStatus,
} from '../../jobs/finetune-record';
import { recordCheckpoint, recordMetrics } from '../../jobs/run-recorder';
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';
import { ProgressBar } from '../progress-bar';
import { makeFolder } from '../../engine/export/make-folder';

const OPTIONS = {
  detector: { type: 'string' },
  init: { type: 'string' },
  train: { type: 'string' },
  val: { type: 'string' },
  size: { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  backbone: { type: 'string' },
  width: { type: 'string' },
  norm: { type: 'string' },
  'freeze-at': { type: 'string' },
  'fpn-channels': { type: 'string' },
  'box-loss': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'demo-train': { type: 'string' },
  'demo-val': { type: 'string' },
  'demo-size': { type: 'string' },
  'eval-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  config: { type: 'string' },
  full: { type: 'boolean' },
  name: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = dropUndefined(v as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A pretraining run id or name (under <home>/runs), a run / checkpoint folder, a .safetensors file
 * or a TF.js model. `runIdByName` looks a run's name up in the studio's store.
 */
export function resolveInit(
  value: string,
  home: string,
  runIdByName?: (name: string) => string | undefined,
): { kind: InitKind; path: string } {
  if (value === 'random') return { kind: 'random', path: '' };
  const named = runIdByName?.(value);
  const candidates = [
    value,
    path.join(home, 'runs', value),
    ...(named ? [path.join(home, 'runs', named)] : []),
  ];
  for (const c of candidates) {
    if (!fs.existsSync(c)) continue;
    const abs = path.resolve(c);
    if (fs.statSync(abs).isFile()) {
      if (abs.endsWith('.safetensors')) return { kind: 'safetensors', path: abs };
      if (abs.endsWith('.json')) return { kind: 'tfjs', path: abs };
      throw new CliError(
        `selfemd finetune: --init ${value}: expected a .safetensors file or a TF.js model.json`,
      );
    }
    if (fs.existsSync(path.join(abs, 'model.json'))) return { kind: 'tfjs', path: abs };
    return { kind: 'pretrain-run', path: abs };
  }
  throw new CliError(
    `selfemd finetune: --init ${value}: not "random", a file, a folder, or a run id under ${path.join(home, 'runs')}`,
  );
}

export interface FinetuneCliPlan {
  overrides: Record<string, unknown>;
  runDir: string;
  resume: boolean;
  json: boolean;
  /** Whether --backbone / --width were given (otherwise they follow the init file). */
  backboneGiven: boolean;
}

/** The id of the newest run called `name` in the studio's database, if there is one. */
export function storeLookup(home: string): (name: string) => string | undefined {
  return (name) => {
    const db = path.join(home, 'studio.db');
    if (!fs.existsSync(db)) return undefined;
    const store = openStore(db);
    try {
      return store.listRuns().find((r) => r.name === name)?.id;
    } finally {
      store.close();
    }
  };
}

export function finetuneOverrides(
  argv: string[],
  home: string,
  runIdByName?: (name: string) => string | undefined,
): FinetuneCliPlan {
  const { values: v } = parse('finetune', argv, OPTIONS);
  const n = (name: keyof typeof OPTIONS) => numberFlag('finetune', name, v[name] as string | undefined);
  const runDir = path.resolve(
    v.out ??
      path.join(
        home,
        'runs',
        v.name ?? `finetune-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`,
      ),
  );
  if (v.resume) {
    const file = path.join(runDir, 'config.json');
    if (!fs.existsSync(file))
      throw new CliError(`selfemd finetune --resume: ${file} not found (name the run with --name or --out)`);
    return {
      overrides: JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>,
      runDir,
      resume: true,
      json: Boolean(v.json),
      backboneGiven: true,
    };
  }
  let fromFile: Record<string, unknown> = {};
  if (v.config) {
    try {
      fromFile = JSON.parse(fs.readFileSync(v.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`selfemd finetune: --config ${v.config}: ${(e as Error).message}`);
    }
  }
  for (const which of ['train', 'val'] as const) {
    const d = v[which];
    if (d && d !== 'demo' && !fs.existsSync(d))
      throw new CliError(`selfemd finetune: --${which} ${d}: no such file or folder`);
  }
  const size = n('size');
  const flags = {
    detector: v.detector,
    seed: n('seed'),
    backend: v.backend,
    init: v.init === undefined ? undefined : resolveInit(v.init, home, runIdByName),
    backbone: { name: v.backbone, baseWidth: n('width'), norm: v.norm, freezeAt: n('freeze-at') },
    data: {
      train: v.train === undefined ? undefined : v.train === 'demo' ? 'demo' : path.resolve(v.train),
      val: v.val === undefined ? undefined : v.val === 'demo' ? 'demo' : path.resolve(v.val),
      demoTrain: n('demo-train'),
      demoVal: n('demo-val'),
      demoSize: n('demo-size'),
      // --size is the test size; training samples the short side in [¾ size, size].
      ...(size === undefined ? {} : finetuneSizeOverrides(size)),
    },
    fpn: { channels: n('fpn-channels') },
    retinanet: { boxLoss: v['box-loss'] },
    roiHeads: { boxLoss: v['box-loss'] },
    optim: { epochs: n('epochs'), batchSize: n('batch'), lr: n('lr') },
    eval: { everyEpochs: n('eval-every') },
    checkpoint: { everySteps: n('checkpoint-every') },
  };
  // Precedence: CPU sizes (unless --full) < --config file < flags.
  const base = mergeDefaults(v.full ? {} : cpuFinetuneOverrides(), fromFile);
  const overrides = mergeDefaults(base, dropUndefined(flags)) as Record<string, unknown>;
  return {
    overrides,
    runDir,
    resume: false,
    json: Boolean(v.json),
    backboneGiven: v.backbone !== undefined || v.width !== undefined,
  };
}

function resolveConfig(overrides: Record<string, unknown>): FinetuneConfig {
  try {
    return resolveFinetuneConfig(overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`selfemd finetune: invalid config: ${e.message}`);
    throw e;
  }
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const home = studioHome();
  const plan = finetuneOverrides(argv, home, storeLookup(home));
  let config = resolveConfig(plan.overrides);
  if (!plan.backboneGiven && config.init.kind !== 'random') {
    // Fine-tune the backbone the file holds unless told otherwise.
    const found = await inspectBackboneInit(config.init.kind, config.init.path);
    if (found)
      config = resolveConfig(mergeDefaults(plan.overrides, { backbone: found }) as Record<string, unknown>);
  }
  makeFolder(plan.runDir);
  fs.writeFileSync(path.join(plan.runDir, 'config.json'), JSON.stringify(config, null, 2));
  const log = (m: string) => {
    if (!plan.json) process.stderr.write(`\r\x1b[K${m}\n`);
  };
  const info = await initBackend(config.backend);
  log(`backend: ${info.choice} (TF.js ${info.version}); run folder ${plan.runDir}`);
  const data = await loadDetectionData(config, log);
  log(
    `${config.detector}: ${data.train.samples.length} train / ${data.val.samples.length} val images, ${data.train.categories.length} classes`,
  );

  let stop: StopRequest = 'continue';
  const onSigint = () => {
    process.stderr.write('\npausing at a checkpoint…\n');
    stop = 'pause';
  };
  process.once('SIGINT', onSigint);
  const bar = new ProgressBar();
  let loss = NaN;
  let result;
  const store = openStore(path.join(home, 'studio.db'));
  const record = startFinetuneRecord(store, {
    runDir: plan.runDir,
    config,
    train: data.train,
    val: data.val,
  });
  const runId = record.run.id;
  // Recorded as it happens, like a studio run: a killed fine-tune keeps its history up to its last
  // checkpoint, and --resume continues from the checkpoint recorded last.
  const writer = new MetricsWriter(store);
  let lastHeartbeat = 0;
  const finish = (
    status: FinetuneRecordStatus,
    progress: { step: number; totalSteps: number },
    error?: string,
  ) => {
    writer.close();
    finishFinetuneRecord(store, { runId, status, ...progress, error });
    store.close();
  };
  try {
    result = await runFinetune({
      config,
      train: data.train,
      val: data.val,
      runDir: plan.runDir,
      resume: plan.resume,
      resumeStep: plan.resume ? store.lastCheckpoint(runId)?.step : undefined,
      hooks: {
        onMetrics: (points) => {
          recordMetrics(writer, runId, points);
          for (const p of points) if (p.key === 'loss/total') loss = p.value;
        },
        onProgress: (p) => {
          // The studio takes a run without a heartbeat for a minute as interrupted (and offers to resume it).
          if (Date.now() - lastHeartbeat >= 1000 || p.step === p.totalSteps) {
            lastHeartbeat = Date.now();
            store.updateRunProgress(runId, { step: p.step, totalSteps: p.totalSteps });
            store.heartbeat(runId, process.pid);
          }
          if (!plan.json)
            bar.update(
              p.step,
              p.totalSteps,
              p.etaSeconds,
              `loss ${loss.toFixed(4)} ${p.secondsPerStep.toFixed(2)} s/step`,
            );
        },
        onCheckpoint: (c) => void recordCheckpoint(store, writer, runId, c),
        onEvaluation: (step, e) =>
          recordFinetuneEvaluation(store, { runId, datasetId: record.datasetId, step, evaluation: e }),
        onLog: log,
        shouldStop: () => stop,
      },
    });
  } catch (err) {
    const { step, totalSteps } = store.getRun(runId);
    finish('failed', { step, totalSteps: totalSteps ?? 0 }, (err as Error).message);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    bar.done();
  }
  finish(result.status, result);
  const e = result.evaluation;
  if (plan.json) {
    console.log(
      JSON.stringify(
        {
          runDir: plan.runDir,
          status: result.status,
          step: result.step,
          totalSteps: result.totalSteps,
          lastLoss: result.lastLoss,
          stats: e?.stats,
          per_category: e?.perCategory,
          voc: e?.voc,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `${plan.runDir}: ${result.status} at step ${result.step}/${result.totalSteps}, last loss ${result.lastLoss.toFixed(4)}`,
  );
  if (result.status === 'paused') console.log(`resume with: selfemd finetune --resume --out ${plan.runDir}`);
  if (e) {
    console.log(formatCocoStats(e.stats));
    console.log(`VOC AP50 (area): ${(100 * e.voc.mAP).toFixed(1)}`);
    console.log(`detections: ${path.join(plan.runDir, 'val_detections.json')} (ground truth: val_gt.json)`);
  }
}
