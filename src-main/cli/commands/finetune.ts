/**
 * `selfemd finetune`: fine-tune a RetinaNet or Faster R-CNN from a pretraining run, an exported
 * backbone file or random init, then evaluate it on the val set. Like `selfemd pretrain` and the
 * studio, it trains in an engine process under the RunManager, which records the run as it trains
 * (metrics, checkpoints, evaluations, heartbeat): the studio shows it and can resume it. The config is
 * resolved by the studio's rules: this machine's defaults (shared/config/run-defaults.ts), the init's
 * backbone (resolveFinetuneInit: a run's recorded checkpoint, a file's header). Ctrl-C pauses at a
 * checkpoint; `--resume --name NAME` continues the run from its last recorded checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  finetuneSizeOverrides,
  plannedFinetuneSteps,
  resolveFinetuneConfig,
  type FinetuneConfig,
  type InitKind,
} from '../../../shared/config/finetune';
import { withRunDefaults, type MachineDescription } from '../../../shared/config/run-defaults';
import { mergeDefaults } from '../../../shared/config/validation';
import type { RunRecord } from '../../../shared/dto';
import { formatLrRange, LR_RANGE_DEFAULTS } from '../../../shared/metrics/lr-range';
import { initBackend } from '../../engine/backend/select';
import { loadDetectionData } from '../../engine/detection/datasets';
import { findLearningRate, type FindLrResult } from '../../engine/detection/find-lr';
import { COCO_STAT_NAMES, formatCocoStats } from '../../engine/eval/cocoeval';
import { runIdInPath } from '../../jobs/finetune-record';
import {
  datasetForSource,
  recordedImportOptions,
  type DatasetSource,
} from '../../jobs/service/dataset-for-source';
import { detectHardware } from '../../jobs/service/hardware';
import {
  resolveFinetuneInit,
  type FinetuneInitRequest,
  type ResolvedFinetuneInit,
} from '../../jobs/service/new-finetune';
import { PYTORCH_WEIGHTS_EXTENSIONS } from '../../jobs/service/weights-file';
import { openStore, type ExperimentStore } from '../../store';
import { gpuEnv, numberFlag, parse, resolveOrExit, runOverrides } from '../args';
import { CliError } from '../cli-error';
import { findRunRef } from '../run-ref';
import { executorFor, onFlag } from '../executor-flag';
import type { ExecutorName } from '../../../shared/dto/clusters';
import { followRun, type RunSummary } from '../follow-run';
import { openStudio, studioHome, type StudioContext } from '../home';
import { SEGM_STAT_PREFIX } from '../../../shared/dto/evaluations';

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
  gpu: { type: 'string' },
  'gpu-power': { type: 'string' },
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
  'find-lr': { type: 'boolean' },
  'find-lr-min': { type: 'string' },
  'find-lr-max': { type: 'string' },
  'find-lr-steps': { type: 'string' },
  'find-lr-out': { type: 'string' },
  on: { type: 'string' },
} as const;

/** Looks a run up by name in the studio's store (the newest of that kind). */
export type RunLookup = (name: string, kind: RunRecord['kind']) => string | undefined;

/**
 * A pretraining run id or name (under <home>/runs), a run / checkpoint folder, a .safetensors file,
 * a PyTorch .pth / .pt state dict (torchvision's ImageNet weights) or a TF.js model. `runIdByName` looks a run's name up in the studio's store.
 */
export function resolveInit(
  value: string,
  home: string,
  runIdByName?: RunLookup,
): { kind: InitKind; path: string } {
  if (value === 'random') return { kind: 'random', path: '' };
  const named = runIdByName?.(value, 'pretrain');
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
      if ((PYTORCH_WEIGHTS_EXTENSIONS as readonly string[]).includes(path.extname(abs)))
        return { kind: 'pytorch', path: abs };
      throw new CliError(
        `selfemd finetune: --init ${value}: expected a .safetensors file, a PyTorch .pth / .pt state dict or a TF.js model.json`,
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
  /** The config overrides (machine defaults, --config file, flags; the init decides the backbone later). */
  overrides: Record<string, unknown>;
  runDir: string;
  /** The run's name in the store: --name, or the --out folder's name. */
  name: string;
  /** With --resume: the run to continue. */
  resumeRunId?: string;
  json: boolean;
  /** --gpu / --gpu-power as the run's process environment (args.ts gpuEnv). */
  env?: Record<string, string>;
  /** With --find-lr: run the learning-rate range test instead of the fine-tune. */
  findLr?: FindLrRequest;
  /** --on: where the run executes (this machine when left out). */
  on?: ExecutorName;
}

/** `--find-lr` and its range; `out` (--find-lr-out) is the only file the test writes. */
export interface FindLrRequest {
  minLr?: number;
  maxLr?: number;
  steps?: number;
  out?: string;
}

/** The id of the newest run called `name` (of that kind), or of the run `name` is the id (prefix) of. */
export function storeLookup(home: string): RunLookup {
  return (name, kind) => {
    const db = path.join(home, 'studio.db');
    if (!fs.existsSync(db)) return undefined;
    const store = openStore(db);
    try {
      const runs = store.listRuns({ kind });
      // the newest run of that name, else a run's id or unique id prefix (cli/run-ref.ts)
      return runs.find((r) => r.name === name)?.id ?? findRunRef(runs, name, 'finetune') ?? undefined;
    } finally {
      store.close();
    }
  };
}

export function finetuneOverrides(
  argv: string[],
  home: string,
  runIdByName?: RunLookup,
  machine: MachineDescription = detectHardware(),
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
  const name = path.basename(runDir);
  const json = Boolean(v.json);
  const env = gpuEnv('finetune', v);
  const lrFlags = ['find-lr-min', 'find-lr-max', 'find-lr-steps', 'find-lr-out'] as const;
  const stray = lrFlags.find((f) => v[f] !== undefined);
  if (stray && !v['find-lr']) throw new CliError(`selfemd finetune: --${stray} needs --find-lr`);
  if (v['find-lr'] && v.resume)
    throw new CliError('selfemd finetune: --find-lr cannot be used with --resume');
  const on = onFlag('finetune', v.on);
  // A resumed run executes where it started; the range test runs in this process.
  if (on !== undefined && on !== 'local' && v.out !== undefined)
    throw new CliError(
      `selfemd finetune: --out cannot be used with --on ${on}: the run's folder is in the cluster's shared folder`,
    );
  if (on !== undefined && (v.resume || v['find-lr']))
    throw new CliError(`selfemd finetune: --on cannot be used with --${v.resume ? 'resume' : 'find-lr'}`);
  const findLr: FindLrRequest | undefined = v['find-lr']
    ? {
        minLr: n('find-lr-min'),
        maxLr: n('find-lr-max'),
        steps: n('find-lr-steps'),
        out: v['find-lr-out'] === undefined ? undefined : path.resolve(v['find-lr-out']),
      }
    : undefined;
  if (v.resume) {
    const resumeRunId = runIdByName?.(name, 'finetune');
    if (!resumeRunId)
      throw new CliError(
        `selfemd finetune --resume: no fine-tune run named "${name}" in ${path.join(home, 'studio.db')} (name the run with --name or --out)`,
      );
    return { overrides: {}, runDir, name, resumeRunId, json, env };
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
  const overrides = runOverrides('finetune', {
    full: v.full,
    configFile: v.config,
    flags,
    withDefaults: (requested) => withRunDefaults('finetune', machine, requested),
  });
  return { overrides, runDir, name, json, env, ...(findLr ? { findLr } : {}), ...(on ? { on } : {}) };
}

/** --init as the studio's request: a run of the store is a parent (its recorded checkpoint), a file is read by its header. */
function initRequest(init: unknown, store: ExperimentStore): FinetuneInitRequest {
  const { kind, path: p } = (init ?? { kind: 'random', path: '' }) as { kind: InitKind; path: string };
  if (kind === 'random') return { init: 'random' };
  if (kind === 'safetensors' || kind === 'tfjs' || kind === 'pytorch')
    return { init: 'file', weightsPath: p };
  const runId = runIdInPath(p);
  if (runId && store.hasRun(runId)) return { init: 'parent', parentRunId: runId };
  throw new CliError(
    `selfemd finetune: --init ${p}: not a run of this studio (${store.path}); give a run id or name, or an exported backbone file`,
  );
}

const REQUEST_FLAGS: Record<string, string> = { weightsPath: '--init', parentRunId: '--init' };

/** The run's config: the plan's overrides with what the init decides (the studio's rules), validated. */
export function resolveCliFinetune(
  store: ExperimentStore,
  plan: FinetuneCliPlan,
): { config: FinetuneConfig; init: ResolvedFinetuneInit } {
  const issues: { path: string; message: string }[] = [];
  const init = resolveFinetuneInit(store, initRequest(plan.overrides.init, store), issues);
  if (issues.length)
    throw new CliError(
      `selfemd finetune: ${issues.map((i) => `${REQUEST_FLAGS[i.path] ?? i.path}: ${i.message}`).join('; ')}`,
    );
  const overrides = mergeDefaults(plan.overrides, init.forced);
  return { config: resolveOrExit('finetune', () => resolveFinetuneConfig(overrides)), init };
}

/**
 * The overrides with each imported --train / --val read as the studio imported it: the image folder
 * and split recorded with its dataset (`selfemd import … --images DIR`), unless the config names them.
 */
export function withRecordedImportOptions(
  home: string,
  store: ExperimentStore,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const data = { ...((overrides.data ?? {}) as Record<string, unknown>) };
  for (const which of ['train', 'val'] as const) {
    const source = data[which];
    if (typeof source !== 'string' || source === 'demo') continue;
    const recorded = recordedImportOptions(home, store, source);
    if (data[`${which}Images`] === undefined && recorded.imageDir) data[`${which}Images`] = recorded.imageDir;
    if (data[`${which}Split`] === undefined && recorded.split) data[`${which}Split`] = recorded.split;
  }
  return { ...overrides, data };
}

async function startFinetune(studio: StudioContext, plan0: FinetuneCliPlan): Promise<RunRecord> {
  const { store, home } = studio;
  const on = executorFor('finetune', store, plan0.on);
  const plan = { ...plan0, overrides: withRecordedImportOptions(home, store, plan0.overrides) };
  const existing = store.listRuns({ kind: 'finetune' }).find((r) => r.name === plan.name);
  if (existing)
    throw new CliError(
      `selfemd finetune: a fine-tune run named "${plan.name}" exists (${existing.status}); continue it with --resume --name ${plan.name}, or choose another --name`,
    );
  const { config, init } = resolveCliFinetune(store, plan);
  const record = async (which: 'train' | 'val') => {
    const source: DatasetSource =
      config.data[which] === 'demo'
        ? {
            demo: {
              split: which,
              count: which === 'train' ? config.data.demoTrain : config.data.demoVal,
              seed: config.data.demoSeed,
            },
          }
        : { path: config.data[which] };
    try {
      return await datasetForSource(home, store, source);
    } catch (e) {
      throw new CliError(`selfemd finetune: --${which} ${config.data[which]}: ${(e as Error).message}`);
    }
  };
  const train = await record('train');
  const val = await record('val');
  if (!plan.json) process.stderr.write(`backbone from ${init.initDescription}\n`);
  return studio.manager.startFinetune(config, {
    name: plan.name,
    datasetId: val.id,
    trainDatasetId: train.id,
    parentRunId: init.parent?.id ?? null,
    totalSteps: plannedFinetuneSteps(config, train.imageCount).totalSteps,
    // on a cluster, the run's folder is in the cluster's shared folder (--out applies here only)
    ...(on === 'local' ? { runDir: plan.runDir } : { on }),
  });
}

/** The run's last evaluation (COCO and VOC on its val set; a mask detector's segm too), as the store recorded it. */
function evaluationSummary(store: ExperimentStore, run: RunRecord, runDir: string): RunSummary {
  const evaluations = store.listEvaluations(run.id);
  const step = Math.max(-1, ...evaluations.map((e) => e.checkpointStep ?? -1));
  const coco = evaluations.find((e) => e.kind === 'coco' && e.checkpointStep === step);
  const voc = evaluations.find((e) => e.kind === 'voc' && e.checkpointStep === step);
  const lines: string[] = [];
  if (coco)
    lines.push(
      `evaluation at step ${step}:`,
      formatCocoStats(COCO_STAT_NAMES.map((k) => coco.stats[k] ?? -1)),
    );
  if (coco?.stats[`${SEGM_STAT_PREFIX}AP`] !== undefined)
    lines.push(
      'masks (COCO segm):',
      formatCocoStats(COCO_STAT_NAMES.map((k) => coco.stats[SEGM_STAT_PREFIX + k] ?? -1)),
    );
  if (voc?.stats.mAP !== undefined) lines.push(`VOC AP50 (area): ${(100 * voc.stats.mAP).toFixed(1)}`);
  if (coco) lines.push(`detections: ${path.join(runDir, 'val_detections.json')} (ground truth: val_gt.json)`);
  return {
    fields: { runDir, evaluation: coco || voc ? { step, coco: coco ?? null, voc: voc ?? null } : null },
    lines,
  };
}

/**
 * `--find-lr`: the learning-rate range test on the run's config, in this process. It records no run
 * and writes no checkpoint; only the curve, when --find-lr-out names a file. Returns the result.
 */
export async function findLrCommand(
  home: string,
  plan: FinetuneCliPlan,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<FindLrResult> {
  const request = plan.findLr ?? {};
  const store = openStore(path.join(home, 'studio.db'));
  let config: FinetuneConfig;
  try {
    config = resolveCliFinetune(store, plan).config;
  } finally {
    store.close();
  }
  // In this process, so --gpu / --gpu-power apply here rather than to a run's process.
  const backend = await initBackend(config.backend, { env: { ...process.env, ...plan.env } });
  const data = await loadDetectionData(config, (m) => plan.json || write(`${m}\n`));
  if (!plan.json)
    write(
      `lr range test: ${config.detector} on ${backend.choice}, batch ${config.optim.batchSize}, ` +
        `${data.train.samples.length} training images, up to ${request.steps ?? LR_RANGE_DEFAULTS.steps} steps\n`,
    );
  let result: FindLrResult;
  try {
    result = await findLearningRate(config, data.train, {
      minLr: request.minLr,
      maxLr: request.maxLr,
      steps: request.steps,
      onLog: (m) => plan.json || write(`${m}\n`),
    });
  } catch (e) {
    throw new CliError(`selfemd finetune --find-lr: ${(e as Error).message}`);
  }
  const record = { detector: config.detector, batchSize: config.optim.batchSize, ...result };
  if (request.out) {
    fs.mkdirSync(path.dirname(request.out), { recursive: true });
    fs.writeFileSync(request.out, JSON.stringify(record, null, 2));
  }
  write(plan.json ? `${JSON.stringify(record)}\n` : `${formatLrRange(result.points, result.suggestion)}\n`);
  if (!plan.json && request.out) write(`curve written to ${request.out}\n`);
  return result;
}

export async function finetuneCommand(argv: string[]): Promise<void> {
  const home = studioHome();
  const plan = finetuneOverrides(argv, home, storeLookup(home));
  if (plan.findLr) {
    await findLrCommand(home, plan);
    return;
  }
  const studio = openStudio(plan.env);
  try {
    let run: RunRecord;
    if (plan.resumeRunId) {
      try {
        run = studio.manager.resume(plan.resumeRunId);
      } catch (e) {
        throw new CliError(`selfemd finetune --resume: ${(e as Error).message}`);
      }
    } else run = await startFinetune(studio, plan);
    await followRun(studio, run.id, {
      json: plan.json,
      summary: (done) => evaluationSummary(studio.store, done, studio.manager.trainingDir(done.id)),
    });
  } finally {
    await studio.close();
  }
}
