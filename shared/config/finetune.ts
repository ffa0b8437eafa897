/**
 * The detector fine-tuning run config: one validated tree, defaults in one place. The defaults are
 * detectron2's (config/defaults.py plus the Base-RetinaNet / Base-RCNN-FPN files) except where the
 * Self-EMD paper's protocol differs, which is said at the field. Sizes in pixels follow detectron2's
 * ~800 px inputs; `cpuFinetuneOverrides(detector)` scales them for the small images a CPU run can afford.
 */
import { BACKBONE_NAMES, backboneWidthProblem, type BackboneName } from './backbones';
import { BACKEND_CHOICES, type BackendChoice } from './pretrain';
import {
  ConfigError,
  type Checker,
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

export const DETECTOR_NAMES = ['retinanet', 'faster-rcnn', 'mask-rcnn'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/**
 * Where the backbone's weights come from — the arms of the paper's comparison:
 * `random`; a pretraining run (`pretrain-run`: a run folder, its checkpoints/ folder or one
 * checkpoint folder; the online encoder's backbone is used); a backbone file (`safetensors`;
 * `tfjs`: a TF.js layers model.json or its folder; `pytorch`: a torch.save state dict, `.pth` /
 * `.pt`, such as torchvision's ImageNet-supervised weights, its architecture read from its keys).
 */
export const INIT_KINDS = ['random', 'pretrain-run', 'safetensors', 'tfjs', 'pytorch'] as const;
export type InitKind = (typeof INIT_KINDS)[number];

/**
 * Backbone BN: `frozen-bn` uses the stored running statistics and fixed γ/β (detectron2's default
 * with ImageNet weights); `bn` normalises with the detector's batch statistics and trains γ/β — the
 * single-device stand-in for the SyncBN that MoCo / BYOL / Self-EMD fine-tune with.
 */
export const BACKBONE_NORMS = ['frozen-bn', 'bn'] as const;
export type BackboneNorm = (typeof BACKBONE_NORMS)[number];

/** Norm of newly initialised layers (FPN, RetinaNet head): none (detectron2's "") or batch-statistics BN. */
export const LAYER_NORMS = ['none', 'bn'] as const;
export type LayerNorm = (typeof LAYER_NORMS)[number];

/**
 * Norm of the RetinaNet head's subnet convs: a LayerNorm, or `gn`, GroupNorm (Wu & He 2018) of
 * `retinanet.headNormGroups` groups — per image, so independent of the batch (torchvision's
 * RetinaNet v2 head; detectron2's "GN"); its convs then have no bias, as torchvision's.
 */
export const HEAD_NORMS = [...LAYER_NORMS, 'gn'] as const;
export type HeadNorm = (typeof HEAD_NORMS)[number];

export const BOX_LOSSES = ['smooth-l1', 'giou'] as const;
export type BoxLoss = (typeof BOX_LOSSES)[number];

export interface FinetuneConfig {
  detector: DetectorName;
  seed: number;
  backend: BackendChoice;
  init: {
    kind: InitKind;
    /** File or folder for every kind but `random` (where it must be empty). */
    path: string;
  };
  backbone: {
    name: BackboneName;
    baseWidth: number;
    norm: BackboneNorm;
    /**
     * detectron2's FREEZE_AT: 0 trains everything, 1 freezes the stem, 2 the stem and res2, … 5 all.
     * The paper's protocol (as MoCo's) trains everything with (Sync)BN: 0. Only `frozen-bn` may freeze.
     */
    freezeAt: number;
  };
  data: {
    /** `demo` (the built-in scenes' train / val split) or a dataset path for the importers. */
    train: string;
    val: string;
    /**
     * How the importers read an imported train / val source, as it was imported (empty: their
     * default): the split (a VOC ImageSets/Main list, a YOLO split) and the image folder (COCO's
     * when its layout does not say, VOC's instead of JPEGImages/).
     */
    trainSplit: string;
    valSplit: string;
    trainImages: string;
    valImages: string;
    /** Demo split sizes and image side, used when train / val is `demo`. */
    demoTrain: number;
    demoVal: number;
    demoSize: number;
    /**
     * Seed of the demo scenes. 0 is the seed every pretraining run's demo set uses
     * (engine/data/pretrain-data.ts DEMO_DATASET_SEED), so the demo train split shows the
     * pretraining scenes.
     */
    demoSeed: number;
    /** Shortest side sampled uniformly in this range for each training image (detectron2 "range"). */
    minSizeTrain: [number, number];
    maxSizeTrain: number;
    minSizeTest: number;
    maxSizeTest: number;
    /** Horizontal flip with probability ½ while training. */
    hflip: boolean;
  };
  fpn: {
    channels: number;
    norm: LayerNorm;
  };
  retinanet: {
    /** Anchor base size per level P3..P7; each is multiplied by every `anchorScales` entry. */
    anchorSizes: number[];
    anchorScales: number[];
    /** Height / width. */
    anchorRatios: number[];
    numConvs: number;
    headNorm: HeadNorm;
    /** GroupNorm groups with headNorm `gn` (must divide fpn.channels); detectron2 / torchvision: 32. */
    headNormGroups: number;
    priorProb: number;
    /** IoU < low: background, ≥ high: foreground, in between: ignored. */
    iouThresholds: [number, number];
    allowLowQualityMatches: boolean;
    focalAlpha: number;
    focalGamma: number;
    boxLoss: BoxLoss;
    smoothL1Beta: number;
    scoreThreshTest: number;
    topkCandidatesTest: number;
    nmsThreshTest: number;
  };
  rpn: {
    /** Anchor size per level P2..P6 (one scale per level, as detectron2's FPN configs). */
    anchorSizes: number[];
    anchorRatios: number[];
    iouThresholds: [number, number];
    batchSizePerImage: number;
    positiveFraction: number;
    /** Per level, before NMS (FPN: per level); after NMS, per image. */
    preNmsTopkTrain: number;
    postNmsTopkTrain: number;
    preNmsTopkTest: number;
    postNmsTopkTest: number;
    nmsThresh: number;
    boxLoss: BoxLoss;
    smoothL1Beta: number;
    lossWeight: number;
  };
  roiHeads: {
    batchSizePerImage: number;
    positiveFraction: number;
    iouThreshold: number;
    numFc: number;
    fcDim: number;
    poolerResolution: number;
    /** Bilinear samples per bin side; 0 = adaptive, ceil(bin size) (ROIAlignV2's default). */
    samplingRatio: number;
    /** Level assignment: level = floor(canonicalLevel + log2(√area / canonicalBoxSize)). */
    canonicalBoxSize: number;
    canonicalLevel: number;
    bboxRegWeights: [number, number, number, number];
    boxLoss: BoxLoss;
    smoothL1Beta: number;
    scoreThreshTest: number;
    nmsThreshTest: number;
  };
  /**
   * Mask R-CNN's mask head (detectron2's ROI_MASK_HEAD with the FPN configs): RoIAlign on the
   * RoI's level (roiHeads' assignment) to poolerResolution², `numConv` 3×3 convs of `convDim`
   * channels, a 2× deconv, class-specific masks of (2 · poolerResolution)²; per-pixel binary
   * cross-entropy on the matched class's mask of the foreground RoIs, times `lossWeight`.
   */
  roiMaskHead: {
    numConv: number;
    convDim: number;
    poolerResolution: number;
    samplingRatio: number;
    lossWeight: number;
  };
  test: {
    detectionsPerImage: number;
  };
  optim: {
    /** Passes over the training images; the schedule scales with the resulting step count. */
    epochs: number;
    batchSize: number;
    /** detectron2: 0.02 at batch 16 for Faster R-CNN, 0.01 for RetinaNet (linear scaling rule). */
    lr: number;
    momentum: number;
    weightDecay: number;
    /** Weight decay of norm γ/β (detectron2 WEIGHT_DECAY_NORM = 0); biases use weightDecay. */
    weightDecayNorm: number;
    /** Linear warm-up over this fraction of the steps (1×: 1000 of 90k), from lr × warmupFactor. */
    warmupFraction: number;
    warmupFactor: number;
    /** Step decays at these fractions of training (1×: 60k and 80k of 90k), each × gamma. */
    decayAt: number[];
    gamma: number;
  };
  eval: {
    /** Evaluate on val every N epochs (0: only at the end). */
    everyEpochs: number;
    /**
     * Quick AP: AP50 on the first `quickImages` val images (0: off), `quickPerRun` times spread over
     * the run, logged as `val/quick_AP50` — so a run that is not learning to detect shows early,
     * between full evaluations, for the price of a few images' inference.
     */
    quickImages: number;
    quickPerRun: number;
  };
  checkpoint: {
    everySteps: number;
  };
}

/** The metric quick AP is logged as (AP50 on the first `eval.quickImages` val images). */
export const QUICK_AP50_KEY = 'val/quick_AP50';

const RETINA_SIZES = [32, 64, 128, 256, 512];

export const DEFAULT_FINETUNE_CONFIG: FinetuneConfig = {
  detector: 'retinanet',
  seed: 0,
  backend: 'auto',
  init: { kind: 'random', path: '' },
  backbone: { name: 'resnet50', baseWidth: 64, norm: 'bn', freezeAt: 0 },
  data: {
    train: 'demo',
    val: 'demo',
    trainSplit: '',
    valSplit: '',
    trainImages: '',
    valImages: '',
    demoTrain: 256,
    demoVal: 64,
    demoSize: 224,
    demoSeed: 0,
    minSizeTrain: [640, 800],
    maxSizeTrain: 1333,
    minSizeTest: 800,
    maxSizeTest: 1333,
    hflip: true,
  },
  fpn: { channels: 256, norm: 'bn' },
  retinanet: {
    anchorSizes: RETINA_SIZES,
    anchorScales: [1, 2 ** (1 / 3), 2 ** (2 / 3)],
    anchorRatios: [0.5, 1, 2],
    numConvs: 4,
    headNorm: 'none',
    headNormGroups: 32,
    priorProb: 0.01,
    iouThresholds: [0.4, 0.5],
    allowLowQualityMatches: true,
    focalAlpha: 0.25,
    focalGamma: 2,
    boxLoss: 'smooth-l1',
    smoothL1Beta: 0.1,
    scoreThreshTest: 0.05,
    topkCandidatesTest: 1000,
    nmsThreshTest: 0.5,
  },
  rpn: {
    anchorSizes: [32, 64, 128, 256, 512],
    anchorRatios: [0.5, 1, 2],
    iouThresholds: [0.3, 0.7],
    batchSizePerImage: 256,
    positiveFraction: 0.5,
    preNmsTopkTrain: 2000,
    postNmsTopkTrain: 1000,
    preNmsTopkTest: 1000,
    postNmsTopkTest: 1000,
    nmsThresh: 0.7,
    boxLoss: 'smooth-l1',
    smoothL1Beta: 0,
    lossWeight: 1,
  },
  roiHeads: {
    batchSizePerImage: 512,
    positiveFraction: 0.25,
    iouThreshold: 0.5,
    numFc: 2,
    fcDim: 1024,
    poolerResolution: 7,
    samplingRatio: 0,
    canonicalBoxSize: 224,
    canonicalLevel: 4,
    bboxRegWeights: [10, 10, 5, 5],
    boxLoss: 'smooth-l1',
    smoothL1Beta: 0,
    scoreThreshTest: 0.05,
    nmsThreshTest: 0.5,
  },
  roiMaskHead: { numConv: 4, convDim: 256, poolerResolution: 14, samplingRatio: 0, lossWeight: 1 },
  test: { detectionsPerImage: 100 },
  optim: {
    epochs: 12,
    batchSize: 16,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 1e-4,
    weightDecayNorm: 0,
    warmupFraction: 1000 / 90000,
    warmupFactor: 0.001,
    decayAt: [60000 / 90000, 80000 / 90000],
    gamma: 0.1,
  },
  eval: { everyEpochs: 0, quickImages: 8, quickPerRun: 16 },
  checkpoint: { everySteps: 100 },
};

/** What differs per detector in detectron2's base configs. */
export function detectorDefaults(detector: DetectorName): Record<string, unknown> {
  // Mask R-CNN's FPN configs share Base-RCNN-FPN with Faster R-CNN, learning rate included.
  return detector === 'retinanet' ? { detector, optim: { lr: 0.01 } } : { detector, optim: { lr: 0.02 } };
}

const positive = (opts: { int?: boolean; max?: number } = {}) => num({ ...opts, min: 0, exclusiveMin: true });
const fraction = num({ min: 0, max: 1 });
const pair =
  (item: Checker): Checker =>
  (v, path, issues) => {
    listOf(item)(v, path, issues);
    if (Array.isArray(v) && v.length !== 2)
      issues.push({ path, message: `must have exactly 2 items, got ${v.length}` });
  };
const boxLoss = oneOf(BOX_LOSSES);
const topk = num({ int: true, min: 1, max: 100_000 });

const SHAPE = {
  detector: oneOf(DETECTOR_NAMES),
  seed: num({ int: true, min: 0, max: 2 ** 31 - 1 }),
  backend: oneOf(BACKEND_CHOICES),
  init: nested({ kind: oneOf(INIT_KINDS), path: str() }),
  backbone: nested({
    name: oneOf(BACKBONE_NAMES),
    baseWidth: num({ int: true, min: 4, max: 256 }),
    norm: oneOf(BACKBONE_NORMS),
    freezeAt: num({ int: true, min: 0, max: 5 }),
  }),
  data: nested({
    train: str({ nonEmpty: true }),
    val: str({ nonEmpty: true }),
    trainSplit: str(),
    valSplit: str(),
    trainImages: str(),
    valImages: str(),
    demoTrain: num({ int: true, min: 1, max: 100_000 }),
    demoVal: num({ int: true, min: 1, max: 100_000 }),
    demoSize: num({ int: true, min: 32, max: 2048 }),
    demoSeed: num({ int: true, min: 0, max: 2 ** 31 - 1 }),
    minSizeTrain: pair(num({ int: true, min: 32, max: 4096 })),
    maxSizeTrain: num({ int: true, min: 32, max: 8192 }),
    minSizeTest: num({ int: true, min: 32, max: 4096 }),
    maxSizeTest: num({ int: true, min: 32, max: 8192 }),
    hflip: bool,
  }),
  fpn: nested({ channels: num({ int: true, min: 4, max: 1024 }), norm: oneOf(LAYER_NORMS) }),
  retinanet: nested({
    anchorSizes: listOf(positive(), { minLength: 1 }),
    anchorScales: listOf(positive(), { minLength: 1 }),
    anchorRatios: listOf(positive(), { minLength: 1 }),
    numConvs: num({ int: true, min: 0, max: 8 }),
    headNorm: oneOf(HEAD_NORMS),
    headNormGroups: num({ int: true, min: 1, max: 1024 }),
    priorProb: num({ min: 0, exclusiveMin: true, max: 0.5 }),
    iouThresholds: pair(fraction),
    allowLowQualityMatches: bool,
    focalAlpha: fraction,
    focalGamma: num({ min: 0, max: 10 }),
    boxLoss,
    smoothL1Beta: num({ min: 0, max: 10 }),
    scoreThreshTest: fraction,
    topkCandidatesTest: topk,
    nmsThreshTest: fraction,
  }),
  rpn: nested({
    anchorSizes: listOf(positive(), { minLength: 1 }),
    anchorRatios: listOf(positive(), { minLength: 1 }),
    iouThresholds: pair(fraction),
    batchSizePerImage: num({ int: true, min: 1, max: 100_000 }),
    positiveFraction: fraction,
    preNmsTopkTrain: topk,
    postNmsTopkTrain: topk,
    preNmsTopkTest: topk,
    postNmsTopkTest: topk,
    nmsThresh: fraction,
    boxLoss,
    smoothL1Beta: num({ min: 0, max: 10 }),
    lossWeight: num({ min: 0, max: 100 }),
  }),
  roiHeads: nested({
    batchSizePerImage: num({ int: true, min: 1, max: 100_000 }),
    positiveFraction: fraction,
    iouThreshold: fraction,
    numFc: num({ int: true, min: 1, max: 4 }),
    fcDim: num({ int: true, min: 1, max: 8192 }),
    poolerResolution: num({ int: true, min: 1, max: 32 }),
    samplingRatio: num({ int: true, min: 0, max: 16 }),
    canonicalBoxSize: positive(),
    canonicalLevel: num({ int: true, min: 2, max: 5 }),
    bboxRegWeights: listOf(positive()),
    boxLoss,
    smoothL1Beta: num({ min: 0, max: 10 }),
    scoreThreshTest: fraction,
    nmsThreshTest: fraction,
  }),
  roiMaskHead: nested({
    numConv: num({ int: true, min: 0, max: 8 }),
    convDim: num({ int: true, min: 1, max: 1024 }),
    poolerResolution: num({ int: true, min: 1, max: 32 }),
    samplingRatio: num({ int: true, min: 0, max: 16 }),
    lossWeight: num({ min: 0, max: 100 }),
  }),
  test: nested({ detectionsPerImage: num({ int: true, min: 1, max: 10_000 }) }),
  optim: nested({
    epochs: num({ min: 0, exclusiveMin: true, max: 100_000 }),
    batchSize: num({ int: true, min: 1, max: 1024 }),
    lr: num({ min: 0, exclusiveMin: true, max: 10 }),
    momentum: num({ min: 0, max: 0.999 }),
    weightDecay: num({ min: 0, max: 0.1 }),
    weightDecayNorm: num({ min: 0, max: 0.1 }),
    warmupFraction: fraction,
    warmupFactor: fraction,
    decayAt: listOf(fraction),
    gamma: fraction,
  }),
  eval: nested({
    everyEpochs: num({ int: true, min: 0, max: 100_000 }),
    quickImages: num({ int: true, min: 0, max: 10_000 }),
    quickPerRun: num({ int: true, min: 1, max: 10_000 }),
  }),
  checkpoint: nested({ everySteps: num({ int: true, min: 1, max: 1_000_000 }) }),
};

/** Validates a complete config; returns the issues (empty when valid). */
export function finetuneConfigIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkObject(value, SHAPE, '', issues);
  if (issues.length) return issues;
  const c = value as FinetuneConfig;
  const add = (path: string, message: string) => issues.push({ path, message });
  if (c.init.kind === 'random' && c.init.path !== '')
    add('init.path', `must be empty for kind "random", got "${c.init.path}"`);
  if (c.init.kind !== 'random' && c.init.path.trim() === '')
    add('init.path', `is required for kind "${c.init.kind}"`);
  const width = backboneWidthProblem(c.backbone.name, c.backbone.baseWidth);
  if (width) add('backbone.baseWidth', width);
  if (c.backbone.norm === 'bn' && c.backbone.freezeAt !== 0)
    add(
      'backbone.freezeAt',
      `must be 0 with backbone.norm "bn" (frozen stages need frozen BN), got ${c.backbone.freezeAt}`,
    );
  const [lo, hi] = c.data.minSizeTrain;
  if (lo > hi) add('data.minSizeTrain', `must be [low, high] with low ≤ high, got [${lo}, ${hi}]`);
  if (hi > c.data.maxSizeTrain)
    add('data.minSizeTrain', `high end ${hi} exceeds data.maxSizeTrain ${c.data.maxSizeTrain}`);
  if (c.data.minSizeTest > c.data.maxSizeTest)
    add('data.minSizeTest', `exceeds data.maxSizeTest (${c.data.maxSizeTest})`);
  if (c.retinanet.anchorSizes.length !== 5)
    add(
      'retinanet.anchorSizes',
      `needs one size per level P3..P7 (5), got ${c.retinanet.anchorSizes.length}`,
    );
  if (c.retinanet.headNorm === 'gn' && c.fpn.channels % c.retinanet.headNormGroups !== 0)
    add(
      'retinanet.headNormGroups',
      `must divide fpn.channels (${c.fpn.channels}) with headNorm "gn", got ${c.retinanet.headNormGroups}`,
    );
  if (c.rpn.anchorSizes.length !== 5)
    add('rpn.anchorSizes', `needs one size per level P2..P6 (5), got ${c.rpn.anchorSizes.length}`);
  for (const key of ['retinanet', 'rpn'] as const) {
    const [a, b] = c[key].iouThresholds;
    if (a > b) add(`${key}.iouThresholds`, `must be [low, high] with low ≤ high, got [${a}, ${b}]`);
  }
  if (c.roiHeads.bboxRegWeights.length !== 4)
    add(
      'roiHeads.bboxRegWeights',
      `must have 4 items (wx, wy, ww, wh), got ${c.roiHeads.bboxRegWeights.length}`,
    );
  for (let i = 1; i < c.optim.decayAt.length; i++)
    if (c.optim.decayAt[i]! < c.optim.decayAt[i - 1]!) add('optim.decayAt', 'must be in increasing order');
  return issues;
}

/**
 * Fills defaults (detectron2's, with the detector's learning rate) under partial user overrides,
 * validates, and throws a ConfigError naming every bad field.
 */
export function resolveFinetuneConfig(overrides: unknown = {}): FinetuneConfig {
  const merged = mergeFinetuneDefaults(overrides);
  const issues = finetuneConfigIssues(merged);
  if (issues.length) throw new ConfigError(issues);
  return merged as FinetuneConfig;
}

/** The defaults (with the named detector's learning rate) under `overrides`, not yet validated. */
export function mergeFinetuneDefaults(overrides: unknown = {}): unknown {
  const detector = namedDetector(overrides);
  const base = DETECTOR_NAMES.includes(detector as DetectorName)
    ? mergeDefaults(DEFAULT_FINETUNE_CONFIG, detectorDefaults(detector as DetectorName))
    : DEFAULT_FINETUNE_CONFIG;
  return mergeDefaults(base, overrides);
}

/** The `detector` field of partial overrides as given (the default's when absent; may be invalid). */
function namedDetector(overrides: unknown): unknown {
  return typeof overrides === 'object' && overrides !== null && 'detector' in overrides
    ? (overrides as { detector: unknown }).detector
    : DEFAULT_FINETUNE_CONFIG.detector;
}

/** The detector partial overrides ask for (the default's when absent or not a detector: validation says so). */
export function requestedDetector(overrides: unknown): DetectorName {
  const d = namedDetector(overrides);
  return DETECTOR_NAMES.includes(d as DetectorName) ? (d as DetectorName) : DEFAULT_FINETUNE_CONFIG.detector;
}

/** Optimizer steps of a run on `imageCount` training images (the trainer's plan; incomplete batches are dropped). */
export function plannedFinetuneSteps(
  config: FinetuneConfig,
  imageCount: number,
): { stepsPerEpoch: number; totalSteps: number } {
  const batch = Math.min(config.optim.batchSize, imageCount);
  const stepsPerEpoch = Math.max(1, Math.floor(imageCount / batch));
  return { stepsPerEpoch, totalSteps: Math.max(1, Math.round(config.optim.epochs * stepsPerEpoch)) };
}

/**
 * One "image size" as the CLI's --size and the studio's form mean it: the test short side, training
 * short sides sampled in [¾ size, size], long sides capped at 5/3 of it.
 */
export function finetuneSizeOverrides(
  size: number,
): Pick<FinetuneConfig['data'], 'minSizeTrain' | 'maxSizeTrain' | 'minSizeTest' | 'maxSizeTest'> {
  return {
    minSizeTrain: [Math.round(size * 0.75), size],
    maxSizeTrain: Math.round(size * 1.667),
    minSizeTest: size,
    maxSizeTest: Math.round(size * 1.667),
  };
}

/**
 * Sizes and a recipe a CPU can train in minutes, per detector (chosen by measurement,
 * docs/detection.md): 256 demo scenes of 128 px for training and 64 for val (at 64 the detectors
 * overfit and the val AP is noisy), a ResNet-18 of width 16, 32 FPN channels, batch 4. Anchor sizes,
 * the RoI level assignment and the sample counts are scaled by about 128 / 800 from detectron2's so
 * they fit objects of 8–80 px. Learning rate 0.04 at batch 4 for both detectors, 8× detectron2's
 * linearly scaled Faster R-CNN rate (random init, BN everywhere, a short run).
 *
 * Faster R-CNN trains at 128 px (short side 96–128 while training), 768 steps: val AP50 51 from
 * random init in 4.5 CPU minutes. RetinaNet trains at 192 px (short side 160–192, the scenes scaled
 * up, anchors 12–192): at 128 px the smallest third of the objects is below its P3 stride's scale
 * (it has no P2, and no RoI crop) and it reaches AP50 2.6; at 192 px, 28.9 in 768 steps. It gets
 * 20 epochs (1280 steps, ~520 CPU s with its evaluations on an idle machine): at 1024 steps AP50 was
 * 37.8 / 12.8 / 40.2 over seeds 0–2 — the low seed finds the objects but misnames them (classifying
 * the six shapes is learned last) — and at 1280 it is 45.6 / 46.8 / 39.5 / 39.3 over seeds 0–3. Its head has BN (per level, as
 * detectron2's CycleBatchNormList): without it the head hardly learns in a few hundred steps; GroupNorm
 * (`headNorm: 'gn'`) was tried on the low seed and not chosen (18.8 at 1024 steps, +10 % per step).
 */
export function cpuFinetuneOverrides(detector: DetectorName): Record<string, unknown> {
  // cloned: mergeDefaults shares the overrides' lists, and callers may edit what they get
  return structuredClone(mergeDefaults(CPU_SHARED, CPU_PER_DETECTOR[detector])) as Record<string, unknown>;
}

const CPU_SHARED: Record<string, unknown> = {
  backbone: { name: 'resnet18', baseWidth: 16 },
  data: { demoTrain: 256, demoVal: 64, demoSize: 128 },
  fpn: { channels: 32 },
  retinanet: { headNorm: 'bn' },
  rpn: {
    anchorSizes: [8, 16, 32, 64, 128],
    batchSizePerImage: 128,
    preNmsTopkTrain: 600,
    postNmsTopkTrain: 300,
    preNmsTopkTest: 300,
    postNmsTopkTest: 300,
  },
  roiHeads: { batchSizePerImage: 128, fcDim: 256, canonicalBoxSize: 36 },
  roiMaskHead: { convDim: 32 },
  optim: { batchSize: 4, lr: 0.04, warmupFraction: 0.05 },
  checkpoint: { everySteps: 50 },
};

/** What differs between the detectors on a CPU: image sizes, RetinaNet's anchors, the run's length. */
const FASTER_RCNN_CPU: Record<string, unknown> = {
  data: { minSizeTrain: [96, 128], maxSizeTrain: 213, minSizeTest: 128, maxSizeTest: 213 },
  retinanet: { anchorSizes: [8, 16, 32, 64, 128] },
  optim: { epochs: 12 },
};
const CPU_PER_DETECTOR: Record<DetectorName, Record<string, unknown>> = {
  'faster-rcnn': FASTER_RCNN_CPU,
  // Faster R-CNN's recipe with the mask head added (not measured separately: the test budget only
  // allowed the overfit test, test/engine/detection/mask-rcnn-overfit.test.ts).
  'mask-rcnn': FASTER_RCNN_CPU,
  retinanet: {
    data: { minSizeTrain: [160, 192], maxSizeTrain: 320, minSizeTest: 192, maxSizeTest: 320 },
    retinanet: { anchorSizes: [12, 24, 48, 96, 192] },
    optim: { epochs: 20 },
  },
};
