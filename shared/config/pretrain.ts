/**
 * The pretraining run config: one validated tree, defaults in one place (DEFAULT_PRETRAIN_CONFIG).
 * Constants the paper leaves open are fields here, each with the reason for its default.
 */
import { BACKBONE_NAMES, backboneWidthProblem, type BackboneName } from './backbones';
import {
  ConfigError,
  type ConfigIssue,
  bool,
  checkObject,
  listOf,
  mergeDefaults,
  nested,
  num,
  oneOf,
  str,
} from './validation';

/**
 * The pretraining methods, in the order the CLI's usage and the studio's form list them. `byol` and
 * `self-emd` are the paper's; `moco-v2` and `simclr` are its contrastive baselines (Table 5).
 */
export const PRETRAIN_METHODS = ['byol', 'self-emd', 'moco-v2', 'simclr'] as const;
export type PretrainMethod = (typeof PRETRAIN_METHODS)[number];

/** How the studio names each method (the new-run form lists PRETRAIN_METHODS with these). */
export const PRETRAIN_METHOD_LABELS: Record<PretrainMethod, { label: string; title: string }> = {
  byol: { label: 'BYOL', title: 'Global-vector similarity only' },
  'self-emd': { label: 'Self-EMD', title: 'BYOL + Earth Mover’s Distance between dense feature maps' },
  'moco-v2': { label: 'MoCo v2', title: 'Contrastive: momentum key encoder, queue of negatives, InfoNCE' },
  simclr: {
    label: 'SimCLR',
    title: 'Contrastive: NT-Xent between the two views of every image in the batch',
  },
};

/** Whether a run's recorded method is one of the pretraining methods (a run may also be `random-init`). */
export function isPretrainMethod(method: string): method is PretrainMethod {
  return (PRETRAIN_METHODS as readonly string[]).includes(method);
}

/** The methods whose online encoder has BYOL's predictor and an EMA target (the rest are contrastive). */
export function usesPredictor(method: PretrainMethod): boolean {
  return method === 'byol' || method === 'self-emd';
}

/** The projection MLP's sizes for a method: each method's own section (BYOL's for byol and self-emd). */
export function projectionHead(config: PretrainConfig): { hidden: number; dim: number } {
  if (config.method === 'moco-v2')
    return { hidden: config.moco.projectorHidden, dim: config.moco.projectionDim };
  if (config.method === 'simclr')
    return { hidden: config.simclr.projectorHidden, dim: config.simclr.projectionDim };
  return { hidden: config.byol.projectorHidden, dim: config.byol.projectionDim };
}

/** Run-time backends, in the order `auto` tries them. */
export const BACKEND_CHOICES = ['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

// The names and their width rules live in backbones.ts; re-exported for the existing importers.
export { BACKBONE_NAMES, type BackboneName } from './backbones';

export const MARGINAL_KINDS = ['global-vector', 'mean-feature'] as const;
/** `global-vector` is the paper's Eq. 13 (default); `mean-feature` is Eq. 12, the ablation. */
export type MarginalKind = (typeof MARGINAL_KINDS)[number];

export const SPC_PAIRINGS = ['cross', 'same'] as const;
/** `cross`: every online pyramid level against every target level; `same`: level k against level k only. */
export type SpcPairing = (typeof SPC_PAIRINGS)[number];

export interface PretrainConfig {
  method: PretrainMethod;
  seed: number;
  backend: BackendChoice;
  backbone: {
    name: BackboneName;
    /** Channels of the stem and of layer1 (torchvision: 64; mobilenet_v2: the stem, 32 = width multiplier 1.0). Smaller widths make CPU runs feasible. */
    baseWidth: number;
  };
  data: {
    /** `demo` for the built-in cluttered-scene generator, otherwise a folder of images. */
    source: string;
    /** Number of generated images when source is `demo`. */
    demoImages: number;
    /** Side of the two large views (paper: 224). */
    imageSize: number;
    /** Images are decoded once and stored with this short side (× imageSize) so crops stay sharp. */
    cacheScale: number;
    /** Random-resized-crop area range (BYOL: 0.08–1). */
    minCropScale: number;
  };
  optim: {
    epochs: number;
    batchSize: number;
    /** Micro-batches accumulated per optimizer step: effective batch = batchSize × accumulate. */
    accumulate: number;
    /** Peak learning rate after warm-up (paper: 0.2 at batch 256, i.e. 0.2 × batch / 256). */
    lr: number;
    momentum: number;
    /** Applied to conv and linear weights only, never to BN parameters or biases. */
    weightDecay: number;
    warmupEpochs: number;
  };
  byol: {
    projectorHidden: number;
    projectionDim: number;
    predictorHidden: number;
    /** τ_base of the EMA target; τ rises to 1 by τ = 1 − (1 − τ_base)(cos(πk/K) + 1)/2. */
    tauBase: number;
  };
  /** MoCo v2 (docs/method.md): momentum key encoder, a queue of negatives, InfoNCE. */
  moco: {
    /** Negatives kept, a ring buffer of past keys (MoCo: 65536; CPU demo sizes: 256, below one epoch's keys). */
    queueSize: number;
    /** InfoNCE temperature (MoCo v2: 0.2). */
    temperature: number;
    /** Key-encoder momentum m, constant as in MoCo (0.999). */
    momentum: number;
    /** Projection MLP Linear → BN → ReLU → Linear (MoCo v2: 2048 → 128). */
    projectorHidden: number;
    projectionDim: number;
  };
  /** SimCLR (docs/method.md): NT-Xent over the batch's 2N views, no target network. */
  simclr: {
    /** NT-Xent temperature (SimCLR at batch ≤ 512: 0.5; its 4096-batch ImageNet recipe uses 0.1). */
    temperature: number;
    /** Projection MLP Linear → BN → ReLU → Linear (SimCLR: 2048 → 128). */
    projectorHidden: number;
    projectionDim: number;
  };
  emd: {
    /** Sinkhorn entropic weight: P = exp(−λM). See docs/method.md for the choice of 20. */
    lambda: number;
    /** Sinkhorn iterations (paper: T = 10). */
    iterations: number;
    marginals: MarginalKind;
    /** Floor added to every marginal before normalising, so an all-zero row cannot make the plan 0/0. */
    marginalEpsilon: number;
    /** Stop gradients through the plan π (gradients then reach the features through M only). */
    detachPlan: boolean;
    /** Marginals are weights, not targets: no gradient through r and c. */
    detachMarginals: boolean;
    globalWeight: number;
    emdWeight: number;
    /** Spatial Pyramid Crops of the dense maps: average-pool grids (paper: 7, 5, 3). */
    spc: boolean;
    spcGrids: number[];
    spcPairing: SpcPairing;
    /** A third, smaller view (paper: 112×112) compared with both large views. */
    scaleView: boolean;
    scaleViewSize: number;
  };
  checkpoint: {
    /** Write a checkpoint every N optimizer steps (and always at the end of an epoch). */
    everySteps: number;
  };
  /** The detection probe on the online backbone during training (engine/probe; docs/method.md). */
  probe: {
    /**
     * Labelled boxes to probe with: '' (no probe), `demo` (the demo scenes' train / val splits), or a
     * COCO / VOC / YOLO dataset, whose images alternate between the probe's train and val halves.
     */
    data: string;
    /** Probe every N optimizer steps, and after the last. */
    every: number;
    /** Images in each demo split when data is `demo`. */
    demoImages: number;
  };
}

export const DEFAULT_PRETRAIN_CONFIG: PretrainConfig = {
  method: 'self-emd',
  seed: 0,
  backend: 'auto',
  backbone: { name: 'resnet18', baseWidth: 64 },
  data: { source: 'demo', demoImages: 256, imageSize: 224, cacheScale: 1.25, minCropScale: 0.08 },
  optim: {
    epochs: 100,
    batchSize: 32,
    accumulate: 1,
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 1e-4,
    warmupEpochs: 4,
  },
  byol: { projectorHidden: 4096, projectionDim: 256, predictorHidden: 4096, tauBase: 0.99 },
  moco: { queueSize: 65536, temperature: 0.2, momentum: 0.999, projectorHidden: 2048, projectionDim: 128 },
  simclr: { temperature: 0.5, projectorHidden: 2048, projectionDim: 128 },
  emd: {
    lambda: 20,
    iterations: 10,
    marginals: 'global-vector',
    marginalEpsilon: 1e-3,
    detachPlan: true,
    detachMarginals: true,
    globalWeight: 1,
    emdWeight: 1,
    spc: true,
    spcGrids: [7, 5, 3],
    spcPairing: 'cross',
    scaleView: true,
    scaleViewSize: 112,
  },
  checkpoint: { everySteps: 50 },
  probe: { data: '', every: 50, demoImages: 50 },
};

const SHAPE = {
  method: oneOf(PRETRAIN_METHODS),
  seed: num({ int: true, min: 0, max: 2 ** 31 - 1 }),
  backend: oneOf(BACKEND_CHOICES),
  backbone: nested({ name: oneOf(BACKBONE_NAMES), baseWidth: num({ int: true, min: 4, max: 256 }) }),
  data: nested({
    source: str({ nonEmpty: true }),
    demoImages: num({ int: true, min: 2, max: 100_000 }),
    imageSize: num({ int: true, min: 32, max: 1024 }),
    cacheScale: num({ min: 1, max: 4 }),
    minCropScale: num({ min: 0.01, max: 1 }),
  }),
  optim: nested({
    epochs: num({ min: 0, exclusiveMin: true, max: 10_000 }),
    batchSize: num({ int: true, min: 2, max: 4096 }),
    accumulate: num({ int: true, min: 1, max: 1024 }),
    lr: num({ min: 0, exclusiveMin: true, max: 10 }),
    momentum: num({ min: 0, max: 0.999 }),
    weightDecay: num({ min: 0, max: 0.1 }),
    warmupEpochs: num({ min: 0, max: 1000 }),
  }),
  byol: nested({
    projectorHidden: num({ int: true, min: 1, max: 16384 }),
    projectionDim: num({ int: true, min: 1, max: 4096 }),
    predictorHidden: num({ int: true, min: 1, max: 16384 }),
    tauBase: num({ min: 0, max: 1 }),
  }),
  moco: nested({
    queueSize: num({ int: true, min: 1, max: 1 << 20 }),
    temperature: num({ min: 0, exclusiveMin: true, max: 10 }),
    momentum: num({ min: 0, max: 1 }),
    projectorHidden: num({ int: true, min: 1, max: 16384 }),
    projectionDim: num({ int: true, min: 1, max: 4096 }),
  }),
  simclr: nested({
    temperature: num({ min: 0, exclusiveMin: true, max: 10 }),
    projectorHidden: num({ int: true, min: 1, max: 16384 }),
    projectionDim: num({ int: true, min: 1, max: 4096 }),
  }),
  emd: nested({
    lambda: num({ min: 0, exclusiveMin: true, max: 80 }),
    iterations: num({ int: true, min: 1, max: 1000 }),
    marginals: oneOf(MARGINAL_KINDS),
    marginalEpsilon: num({ min: 0, exclusiveMin: true, max: 1 }),
    detachPlan: bool,
    detachMarginals: bool,
    globalWeight: num({ min: 0, max: 100 }),
    emdWeight: num({ min: 0, max: 100 }),
    spc: bool,
    spcGrids: listOf(num({ int: true, min: 1, max: 64 }), { minLength: 1 }),
    spcPairing: oneOf(SPC_PAIRINGS),
    scaleView: bool,
    scaleViewSize: num({ int: true, min: 32, max: 1024 }),
  }),
  checkpoint: nested({ everySteps: num({ int: true, min: 1, max: 1_000_000 }) }),
  probe: nested({
    data: str(),
    every: num({ int: true, min: 1, max: 1_000_000 }),
    demoImages: num({ int: true, min: 2, max: 100_000 }),
  }),
};

/** Validates a complete config; returns the issues (empty when valid). */
export function pretrainConfigIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkObject(value, SHAPE, '', issues);
  if (issues.length === 0) {
    const c = value as PretrainConfig;
    const width = backboneWidthProblem(c.backbone.name, c.backbone.baseWidth);
    if (width) issues.push({ path: 'backbone.baseWidth', message: width });
    // Any size ≥ 32 works ('same' padding rounds each stride up: 112 px gives a 4×4 res5 map).
    if (c.emd.scaleView && c.emd.scaleViewSize >= c.data.imageSize)
      issues.push({
        path: 'emd.scaleViewSize',
        message: `must be smaller than data.imageSize (${c.data.imageSize})`,
      });
    // Each step enqueues both views' keys (2 × batchSize); a smaller queue would overwrite its own batch.
    if (c.method === 'moco-v2' && c.moco.queueSize < 2 * c.optim.batchSize)
      issues.push({
        path: 'moco.queueSize',
        message: `must hold one step's keys: at least 2 × optim.batchSize (${2 * c.optim.batchSize})`,
      });
  }
  return issues;
}

/**
 * What a MoCo v2 run should be told about its queue for a dataset of `imageCount` images, or null.
 * One epoch enqueues 2 × images keys (both views): a larger queue holds keys of the same images from
 * earlier epochs as negatives (and, until it fills, random rows), so its loss and features say less
 * than the method's. MoCo's 65536 assumes ImageNet; the trainer says this at the start of the run.
 */
export function mocoQueueNote(c: PretrainConfig, imageCount: number): string | null {
  if (c.method !== 'moco-v2' || imageCount <= 0) return null;
  const perEpoch = 2 * imageCount;
  if (c.moco.queueSize <= perEpoch) return null;
  const keep = Math.max(2 * c.optim.batchSize, perEpoch);
  return `moco.queueSize ${c.moco.queueSize} is more than one epoch's keys (2 × ${imageCount} images = ${perEpoch}): the queue will hold earlier keys of the same images as negatives; a queue of at most ${keep} keeps each image in it once`;
}

/** The scale view's size when not set: half the image size, as the paper's 112 at 224. */
export function defaultScaleViewSize(imageSize: number): number {
  return Math.max(32, Math.round(imageSize / 2));
}

/**
 * The scale view's size after the image size changed from `oldImageSize` to `imageSize` in a form:
 * it follows the image size while it is the old size's default, and stays where a user put it.
 */
export function scaleViewSizeFollowing(
  scaleViewSize: number,
  oldImageSize: number,
  imageSize: number,
): number {
  return scaleViewSize === defaultScaleViewSize(oldImageSize)
    ? defaultScaleViewSize(imageSize)
    : scaleViewSize;
}

/**
 * Defaults under partial overrides, unvalidated. Sizes that depend on the image size follow it unless
 * the overrides set them (a scale view fixed at 112, or 64, would be as large as a 64 px image).
 */
export function mergePretrainDefaults(overrides: unknown): unknown {
  const merged = mergeDefaults(DEFAULT_PRETRAIN_CONFIG, overrides) as PretrainConfig;
  const emd = (overrides as { emd?: { scaleViewSize?: unknown } } | null | undefined)?.emd;
  if (emd?.scaleViewSize === undefined && typeof merged.data?.imageSize === 'number')
    merged.emd.scaleViewSize = defaultScaleViewSize(merged.data.imageSize);
  return merged;
}

/** Fills defaults under partial user overrides, validates, and throws a ConfigError naming every bad field. */
export function resolvePretrainConfig(overrides: unknown = {}): PretrainConfig {
  const merged = mergePretrainDefaults(overrides);
  const issues = pretrainConfigIssues(merged);
  if (issues.length) throw new ConfigError(issues);
  return merged as PretrainConfig;
}

/**
 * A small config that trains in seconds on CPU: what demos, tests and the first run use.
 * Width 16 is the CPU fine-tune recipe's backbone (`cpuFinetuneOverrides`), so a fine-tune from this
 * run (whose init decides the width) runs the measured recipe; a width-16 step costs ~0.4× a
 * width-32 one, so 3 epochs (48 steps) take about the CPU time 1 epoch at width 32 took
 * (docs/detection.md, "The CLI / studio default from a demo pretraining run").
 */
export function cpuDemoOverrides(): Partial<Record<keyof PretrainConfig, unknown>> {
  return {
    backbone: { name: 'resnet18', baseWidth: 16 },
    data: { imageSize: 96, demoImages: 256 },
    optim: { epochs: 3, batchSize: 16, lr: 0.05, warmupEpochs: 0.25 },
    byol: { projectorHidden: 512, projectionDim: 128, predictorHidden: 512 },
    // 256 images give 512 keys an epoch: a queue below that holds each image at most once.
    moco: { queueSize: 256, momentum: 0.99, projectorHidden: 512, projectionDim: 128 },
    simclr: { projectorHidden: 512, projectionDim: 128 },
    checkpoint: { everySteps: 2 },
  };
}

/** Optimizer steps of a pretraining run, as the trainer takes them. */
export interface PretrainStepPlan {
  stepsPerEpoch: number;
  totalSteps: number;
  warmupSteps: number;
}

/** Why a dataset of `imageCount` images cannot be pretrained on with this config, or null when it can. */
export function pretrainDatasetTooSmall(config: PretrainConfig, imageCount: number): string | null {
  return imageCount < config.optim.batchSize
    ? `the dataset has ${imageCount} usable image(s), fewer than one batch (optim.batchSize = ${config.optim.batchSize})`
    : null;
}

/**
 * The trainer's plan on `imageCount` images: an epoch is the whole effective batches (batchSize ×
 * accumulate) the images fill, at least one; warm-up and the total scale with it. Throws when the
 * dataset is smaller than one batch (pretrainDatasetTooSmall says so without throwing).
 */
export function plannedPretrainSteps(config: PretrainConfig, imageCount: number): PretrainStepPlan {
  const tooSmall = pretrainDatasetTooSmall(config, imageCount);
  if (tooSmall) throw new Error(tooSmall);
  const perStep = config.optim.batchSize * config.optim.accumulate;
  const stepsPerEpoch = Math.max(1, Math.floor(imageCount / perStep));
  return {
    stepsPerEpoch,
    totalSteps: Math.max(1, Math.round(config.optim.epochs * stepsPerEpoch)),
    warmupSteps: Math.round(config.optim.warmupEpochs * stepsPerEpoch),
  };
}

/**
 * Side of the dense (res5) feature map at an image size: five stride-2 stages with 'same' padding,
 * each rounding up, give ⌈size / 32⌉ (an 80 px image gives 3×3).
 */
export function denseMapSide(imageSize: number): number {
  return Math.max(1, Math.ceil(imageSize / 32));
}

/** Cells per axis of the level a grid pools a map side to: a grid larger than the map gives the map. */
export function spcLevelSide(grid: number, mapSide: number): number {
  return Math.min(grid, mapSide);
}

/**
 * The rule for which Spatial Pyramid Crop grids give distinct levels on an h×w map: a grid pools to
 * spcLevelSide(g, side) cells per axis, so grids that clamp to the same sides give the same level. `distinct` holds the first grid of each level, in
 * the order of `grids`; `grids[k]` is level `of[k]` of `distinct`. Without SPC there is one level, the map.
 */
export function spcDistinctGrids(
  h: number,
  w: number,
  grids: readonly number[] | undefined,
): { distinct: number[]; of: number[] } {
  if (!grids) return { distinct: [Math.max(h, w)], of: [0] };
  const keys: string[] = [];
  const distinct: number[] = [];
  const of = grids.map((g) => {
    const key = `${spcLevelSide(g, h)}x${spcLevelSide(g, w)}`;
    let i = keys.indexOf(key);
    if (i < 0) {
      i = keys.push(key) - 1;
      distinct.push(g);
    }
    return i;
  });
  return { distinct, of };
}

/**
 * The pyramid levels a picker can offer at an image size (the transport view's grid choice): each of
 * `grids` that is a level of its own (g ≤ the map side: a real g×g pooling), largest first. A grid
 * larger than the map only repeats the map itself, which is offered as the full map (grid 0).
 */
export function spcSelectableGrids(imageSize: number, grids: readonly number[]): number[] {
  const side = denseMapSide(imageSize);
  return [...new Set(grids)].filter((g) => g <= side).sort((a, b) => b - a);
}

/**
 * What Spatial Pyramid Crops compare at an image size: the res5 map is ⌈size / 32⌉ per side ('same'
 * padding rounds each stride up), and a grid at least as large as the map pools to the map itself,
 * so at small sizes several grids (or all) give the same level. `levels` are the distinct level
 * sides, largest first; `note` says so in words when some grids coincide (null when all differ).
 */
export function spcLevels(
  imageSize: number,
  grids: readonly number[],
): { mapSide: number; levels: number[]; note: string | null } {
  const mapSide = denseMapSide(imageSize);
  const { distinct } = spcDistinctGrids(mapSide, mapSide, grids);
  const levels = distinct.map((g) => spcLevelSide(g, mapSide)).sort((a, b) => b - a);
  if (levels.length === new Set(grids).size) return { mapSide, levels, note: null };
  const map = `${mapSide}×${mapSide}`;
  const note =
    levels.length === 1
      ? `at ${imageSize} px the dense map is ${map}: every grid (${grids.join(', ')}) gives the whole map, so the crops add nothing; levels start to differ at ${32 * (Math.min(...grids) + 1)} px`
      : `at ${imageSize} px the dense map is ${map}: grids ${grids.join(', ')} give ${levels.length} distinct levels (${levels.map((s) => `${s}×${s}`).join(', ')}); all differ from ${32 * Math.max(...grids)} px`;
  return { mapSide, levels, note };
}
