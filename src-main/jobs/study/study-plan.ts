/**
 * A study request resolved into what it runs: the shared pretraining config (the machine's defaults
 * for the run's backend, the budget, the data), each SSL arm's config (the shared one with the arm's
 * method fields, checked to differ in nothing else), and the shared fine-tune config (the resolved
 * detection recipe with the budget's sizes, the study's backbone). Recorded with the study, so a resumed
 * study runs exactly what it planned, whatever the defaults have become since.
 */
import * as path from 'node:path';
import {
  finetuneConfigIssues,
  mergeFinetuneDefaults,
  plannedFinetuneSteps,
  type FinetuneConfig,
} from '../../../shared/config/finetune';
import {
  plannedPretrainSteps,
  resolvePretrainConfig,
  type PretrainConfig,
} from '../../../shared/config/pretrain';
import { withRunDefaults, type MachineDescription } from '../../../shared/config/run-defaults';
import {
  ARM_METHOD_FIELDS,
  budgetOverrides,
  nonMethodDifferences,
  parseStudyArm,
  STUDY_BUDGETS,
  type StudyArm,
  type StudyBudget,
} from '../../../shared/config/study';
import { ConfigError, mergeDefaults } from '../../../shared/config/validation';
import type { StudyRequest } from '../../../shared/api/types';
import type { ExperimentStore } from '../../store';
import {
  datasetForSource,
  describeSource,
  type DatasetSource,
  type SourceDataset,
} from '../service/dataset-for-source';
import { describeWeightsFile } from '../service/weights-file';

export interface PlannedArm {
  name: string;
  kind: StudyArm['kind'];
  /** file arms: the weights file. */
  path?: string;
  /** SSL arms: the config fields that make it its method (all else is the shared config). */
  methodFields?: Record<string, unknown>;
  /** SSL arms: the resolved pretraining config. */
  pretrain?: PretrainConfig;
}

/** What a study records as its config (StudyRecord.config). */
export interface StudyPlan {
  budget: StudyBudget | 'custom';
  arms: PlannedArm[];
  /** The fine-tune seeds: seed index s trains with seed seeds[s] in every arm (paired). */
  seeds: number[];
  data: { unlabeled: string; train: string; val: string };
  datasets: { unlabeled: number; train: number; val: number };
  /** The pretraining settings every SSL arm shares (with BYOL's method fields). */
  sharedPretrain: PretrainConfig;
  /** True once checked: the SSL arms' configs differ from sharedPretrain only in method fields. */
  sharedExceptMethodFields: boolean;
  /** The fine-tune config every arm × seed shares but for init and seed. */
  finetune: FinetuneConfig;
  steps: { pretrain: number; finetune: number };
  bootstrap: { replicates: number; seed: number };
  /** Where its pretrainings and fine-tunes execute: a cluster's name; absent for this machine. */
  on?: string;
}

/**
 * Bootstrap replicates by default: each scores every arm × seed on a resampled val set (≈ 25 ms per
 * COCO evaluation of 16 images on a loaded CPU here), so 200 keep the result step to about a minute
 * for a smoke study; the 2.5 / 97.5 % percentiles of 200 replicates move by a few tenths between seeds.
 */
export const DEFAULT_REPLICATES = 200;

const isAbsoluteOrDemo = (p: string) => p === 'demo' || path.isAbsolute(p);

/** Epochs that give `steps` optimizer steps when an epoch is `perEpoch` steps. */
const epochsFor = (steps: number, perEpoch: number) => steps / perEpoch;

/** A plan resolved for an estimate: the same, but a dataset not recorded yet has no id (null). */
export type StudyPlanPreview = Omit<StudyPlan, 'datasets'> & {
  datasets: { unlabeled: number | null; train: number | null; val: number | null };
};

/** The plan a study records and runs: a source without a dataset record gets one (an import, a demo split). */
export function resolveStudyPlan(
  home: string,
  store: ExperimentStore,
  machine: MachineDescription,
  req: StudyRequest,
): Promise<StudyPlan> {
  return planStudy(machine, req, (source) => datasetForSource(home, store, source));
}

/** The same plan with nothing written to the store (studies.estimate): unrecorded sources are only read. */
export function previewStudyPlan(
  home: string,
  store: ExperimentStore,
  machine: MachineDescription,
  req: StudyRequest,
): Promise<StudyPlanPreview> {
  return planStudy(machine, req, (source) => describeSource(home, store, source));
}

async function planStudy<D extends SourceDataset>(
  machine: MachineDescription,
  req: StudyRequest,
  datasetOf: (source: DatasetSource) => Promise<D>,
): Promise<Omit<StudyPlan, 'datasets'> & { datasets: { unlabeled: D['id']; train: D['id']; val: D['id'] } }> {
  const record = async (which: string, source: DatasetSource): Promise<D> => {
    try {
      return await datasetOf(source);
    } catch (e) {
      throw new ConfigError([{ path: `data.${which}`, message: (e as Error).message }]);
    }
  };
  const problem = (field: string, message: string) => new ConfigError([{ path: field, message }]);
  if (!(STUDY_BUDGETS as readonly string[]).includes(req.budget))
    throw problem('budget', `must be one of ${STUDY_BUDGETS.join(', ')}`);
  if (!Number.isInteger(req.seeds) || req.seeds < 1 || req.seeds > 32)
    throw problem('seeds', 'must be a whole number from 1 to 32');
  let arms: StudyArm[];
  try {
    arms = req.arms.map(parseStudyArm);
  } catch (e) {
    throw problem('arms', (e as Error).message);
  }
  if (arms.length < 2) throw problem('arms', 'a study compares at least two arms');
  if (new Set(arms.map((a) => a.name)).size !== arms.length) throw problem('arms', 'an arm is named twice');
  const data = { unlabeled: req.data.unlabeled, train: req.data.train, val: req.data.val };
  for (const [k, v] of Object.entries(data))
    if (!isAbsoluteOrDemo(v)) throw problem(`data.${k}`, `${v}: give "demo" or an absolute path`);

  const budget = budgetOverrides(req.budget);
  const backend = req.backend ? { backend: req.backend } : {};
  // ---- pretraining: the machine's defaults, the budget, the request's own overrides, the data
  const pretrainRequested = mergeDefaults(mergeDefaults(budget.pretrain, req.pretrain ?? {}), {
    ...backend,
    data: { source: data.unlabeled },
  });
  let sharedPretrain = resolvePretrainConfig(withRunDefaults('pretrain', machine, pretrainRequested));
  const unlabeled = await record(
    'unlabeled',
    data.unlabeled === 'demo'
      ? { demo: { split: 'train', count: sharedPretrain.data.demoImages, seed: 0 } }
      : { path: data.unlabeled },
  );
  const pretrainImages = data.unlabeled === 'demo' ? sharedPretrain.data.demoImages : unlabeled.imageCount;
  if (req.pretrainSteps !== undefined) {
    const perEpoch = plannedPretrainSteps(sharedPretrain, pretrainImages).stepsPerEpoch;
    sharedPretrain = resolvePretrainConfig(
      mergeDefaults(sharedPretrain, { optim: { epochs: epochsFor(req.pretrainSteps, perEpoch) } }),
    );
  }
  sharedPretrain = resolvePretrainConfig(mergeDefaults(sharedPretrain, ARM_METHOD_FIELDS.byol));

  const planned: PlannedArm[] = arms.map((a) => {
    if (a.kind === 'random') return { name: a.name, kind: a.kind };
    if (a.kind === 'file') {
      const file = describeWeightsFile(path.resolve(a.path));
      if (typeof file === 'string') throw problem('arms', `${a.name}: ${file}`);
      return { name: a.name, kind: a.kind, path: file.path };
    }
    const methodFields = ARM_METHOD_FIELDS[a.name];
    const pretrain = resolvePretrainConfig(mergeDefaults(sharedPretrain, methodFields));
    const extra = nonMethodDifferences(sharedPretrain, pretrain);
    if (extra.length)
      throw new Error(`study: arm ${a.name} would change ${extra.join(', ')}, not only its method fields`);
    return { name: a.name, kind: a.kind, methodFields, pretrain };
  });

  // ---- fine-tuning: the resolved recipe, the budget's sizes, the study's backbone, the data
  const dataFields = (which: 'train' | 'val', d: SourceDataset) =>
    data[which] === 'demo' ? { [which]: 'demo' } : { [which]: d.path };
  const finetuneRequested = mergeDefaults(mergeDefaults(budget.finetune, req.finetune ?? {}), {
    ...backend,
    backbone: { name: sharedPretrain.backbone.name, baseWidth: sharedPretrain.backbone.baseWidth },
    init: { kind: 'random', path: '' },
    seed: 0,
  });
  let finetune = mergeFinetuneDefaults(
    withRunDefaults('finetune', machine, finetuneRequested),
  ) as FinetuneConfig;
  const demoSource = (split: 'train' | 'val', count: number): DatasetSource => ({
    demo: { split, count, seed: finetune.data.demoSeed },
  });
  const train = await record(
    'train',
    data.train === 'demo' ? demoSource('train', finetune.data.demoTrain) : { path: data.train },
  );
  const val = await record(
    'val',
    data.val === 'demo' ? demoSource('val', finetune.data.demoVal) : { path: data.val },
  );
  // Unrecorded sources (an estimate's) are told apart by path: a recorded one would have been found.
  const sameData =
    train.id !== null || val.id !== null
      ? train.id === val.id
      : train.path !== null && train.path === val.path;
  if (sameData) throw problem('data.val', 'is the train set: evaluate on held-out images');
  finetune = mergeDefaults(finetune, {
    data: { ...dataFields('train', train), ...dataFields('val', val) },
  }) as FinetuneConfig;
  const trainImages = data.train === 'demo' ? finetune.data.demoTrain : train.imageCount;
  if (req.finetuneSteps !== undefined) {
    const perEpoch = plannedFinetuneSteps(finetune, trainImages).stepsPerEpoch;
    finetune = mergeDefaults(finetune, {
      optim: { epochs: epochsFor(req.finetuneSteps, perEpoch) },
    }) as FinetuneConfig;
  }
  const issues = finetuneConfigIssues(finetune);
  if (issues.length) throw new ConfigError(issues.map((i) => ({ ...i, path: `finetune.${i.path}` })));

  return {
    budget: req.pretrainSteps !== undefined || req.finetuneSteps !== undefined ? 'custom' : req.budget,
    arms: planned,
    seeds: Array.from({ length: req.seeds }, (_, s) => s),
    data,
    datasets: { unlabeled: unlabeled.id, train: train.id, val: val.id },
    sharedPretrain,
    sharedExceptMethodFields: true,
    finetune,
    steps: {
      pretrain: plannedPretrainSteps(sharedPretrain, pretrainImages).totalSteps,
      finetune: plannedFinetuneSteps(finetune, trainImages).totalSteps,
    },
    bootstrap: { replicates: req.replicates ?? DEFAULT_REPLICATES, seed: 0 },
    ...(req.on && req.on !== 'local' ? { on: req.on } : {}),
  };
}
