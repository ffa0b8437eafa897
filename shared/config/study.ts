/**
 * A study: the paper's Table 2 on the user's data. Its arms (how a detector's backbone starts), its
 * budgets (how long each pretraining and fine-tune trains), and the rule that every SSL arm shares
 * every pretraining setting except the method's own fields. Pure: the jobs layer resolves the rest
 * on the machine's defaults (shared/config/run-defaults.ts).
 */
import { finetuneSizeOverrides } from './finetune';
import { DEFAULT_PRETRAIN_CONFIG, type PretrainConfig } from './pretrain';

/**
 * The arms by name; `file:PATH` (an exported or external backbone) and `supervised:PATH` (ImageNet
 * weights as torchvision ships them, a .pth / .pt / .safetensors state dict) take an argument.
 * `moco-v2` and `simclr` are the paper's contrastive baselines (Table 5), pretrained with their own
 * documented defaults (shared/config/pretrain.ts `moco`, `simclr`) under the study's shared settings.
 */
export const STUDY_SSL_ARMS = [
  'byol',
  'moco-v2',
  'simclr',
  'self-emd-eq12',
  'self-emd',
  'self-emd+spc+scale',
] as const;
export type StudySslArm = (typeof STUDY_SSL_ARMS)[number];
export const STUDY_NAMED_ARMS = ['random', ...STUDY_SSL_ARMS] as const;

/** The config fields that make each SSL arm its method: everything else is the study's shared config. */
export const ARM_METHOD_FIELDS: Readonly<Record<StudySslArm, Record<string, unknown>>> = {
  byol: { method: 'byol' },
  'moco-v2': { method: 'moco-v2' },
  simclr: { method: 'simclr' },
  // Eq. 12: marginals from each location's own mean feature (the ablation); dense EMD only.
  'self-emd-eq12': { method: 'self-emd', emd: { marginals: 'mean-feature', spc: false, scaleView: false } },
  // Eq. 13: marginals from the other view's global vector (the paper's choice); dense EMD only.
  'self-emd': { method: 'self-emd', emd: { marginals: 'global-vector', spc: false, scaleView: false } },
  'self-emd+spc+scale': {
    method: 'self-emd',
    emd: { marginals: 'global-vector', spc: true, scaleView: true },
  },
};

/** The config paths an arm's method fields set (what may differ between SSL arms' pretrainings). */
export const METHOD_FIELD_PATHS = ['method', 'emd.marginals', 'emd.spc', 'emd.scaleView'] as const;

export type StudyArm =
  | { name: 'random'; kind: 'random' }
  | { name: StudySslArm; kind: 'ssl' }
  | { name: string; kind: 'file'; path: string };

/** One arm from its name; throws naming the arm and the accepted names. */
export function parseStudyArm(text: string): StudyArm {
  const name = text.trim();
  if (name === 'random') return { name, kind: 'random' };
  if ((STUDY_SSL_ARMS as readonly string[]).includes(name)) return { name: name as StudySslArm, kind: 'ssl' };
  if (name.startsWith('file:') && name.length > 5) return { name, kind: 'file', path: name.slice(5) };
  // Named for what it is (the paper's ImageNet-supervised row); it starts from its file as file:PATH does.
  if (name.startsWith('supervised:') && name.length > 11)
    return { name: 'supervised', kind: 'file', path: name.slice(11) };
  throw new Error(
    `arm "${name}": not one of ${STUDY_NAMED_ARMS.join(', ')}, file:PATH (an exported backbone) or supervised:PATH (torchvision weights, .pth / .pt / .safetensors)`,
  );
}

/** Arms from a comma-separated list: at least two, none twice. */
export function parseStudyArms(list: string): StudyArm[] {
  const arms = list
    .split(',')
    .filter((s) => s.trim())
    .map(parseStudyArm);
  if (arms.length < 2) throw new Error(`arms "${list}": a study compares at least two arms`);
  const seen = new Set<string>();
  for (const a of arms) {
    if (seen.has(a.name)) throw new Error(`arms "${list}": ${a.name} is named twice`);
    seen.add(a.name);
  }
  return arms;
}

export const STUDY_BUDGETS = ['smoke', 'small', 'paper'] as const;
export type StudyBudget = (typeof STUDY_BUDGETS)[number];

/**
 * What a budget changes on the machine's defaults, for pretraining and fine-tuning. Only sizes and
 * schedule lengths: the detection recipe (detector, learning rates, anchors) stays the resolved
 * default. `smoke` proves the pipeline in minutes (its numbers mean nothing); `small` is a CPU's
 * afternoon; `paper` keeps the machine's sizes with the paper's schedule lengths.
 */
export function budgetOverrides(budget: StudyBudget): {
  pretrain: Record<string, unknown>;
  finetune: Record<string, unknown>;
} {
  switch (budget) {
    case 'smoke':
      return {
        pretrain: {
          backbone: { baseWidth: 8 },
          data: { demoImages: 32, imageSize: 64 },
          optim: { epochs: 2, batchSize: 8, warmupEpochs: 0.5 },
          byol: { projectorHidden: 64, projectionDim: 32, predictorHidden: 64 },
          moco: { projectorHidden: 64, projectionDim: 32 },
          simclr: { projectorHidden: 64, projectionDim: 32 },
          checkpoint: { everySteps: 4 },
          probe: { demoImages: 16 },
        },
        finetune: {
          data: { demoTrain: 16, demoVal: 16, demoSize: 64, ...finetuneSizeOverrides(64) },
          optim: { epochs: 3 },
          checkpoint: { everySteps: 4 },
        },
      };
    case 'small':
      return {
        pretrain: { optim: { epochs: 4 }, checkpoint: { everySteps: 16 } },
        finetune: {
          data: { demoTrain: 64, demoVal: 64 },
          optim: { epochs: 4 },
          checkpoint: { everySteps: 32 },
        },
      };
    case 'paper':
      return { pretrain: { optim: { epochs: DEFAULT_PRETRAIN_CONFIG.optim.epochs } }, finetune: {} };
  }
}

/** Dotted paths where two pretraining configs differ (the study checks only method fields do). */
export function configDifferences(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => configDifferences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

/** The pretraining fields an SSL arm changes that are not its method's own (should be none). */
export function nonMethodDifferences(shared: PretrainConfig, arm: PretrainConfig): string[] {
  return configDifferences(shared, arm).filter((p) => !(METHOD_FIELD_PATHS as readonly string[]).includes(p));
}
