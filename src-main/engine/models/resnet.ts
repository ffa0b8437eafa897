/**
 * ResNet trunks (torchvision v1.5: in Bottleneck the stride sits on the 3×3 conv) as a
 * functional backbone with explicit variables keyed by torchvision's state_dict names, returning
 * detectron2-style named features res2..res5 (strides 4, 8, 16, 32). No fc: these are backbones.
 *
 * The network is first described as data (ResNetArch); the forward pass and the TF.js layers
 * exporter both walk that one description, so they cannot drift apart.
 */
import * as tf from '@tensorflow/tfjs';
import { checkImageBatch } from './backbone-input';
import { applyBatchNorm } from './batch-norm-layer';
import { addBatchNorm, addConv, createParameterSet, disposeParameterSet, getParam } from './parameter-set';
import type { Backbone, FeatureInfo, FeatureName, ForwardOptions } from './types';

export type BlockKind = 'basic' | 'bottleneck';

export interface ResNetDepthSpec {
  block: BlockKind;
  /** Blocks per stage (layer1..layer4). */
  layers: readonly [number, number, number, number];
}

export const RESNET_DEPTHS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
} as const satisfies Record<string, ResNetDepthSpec>;

export type ResNetName = keyof typeof RESNET_DEPTHS;

/** A bias-free conv with torch-style symmetric zero padding. */
export interface ConvSpec {
  /** Module name, e.g. `layer2.0.downsample.0`; its weight is `<name>.weight`. */
  name: string;
  kernel: number;
  stride: number;
  pad: number;
  inChannels: number;
  outChannels: number;
}

/** conv → BN; `relu` says whether a ReLU follows directly (false for a block's last conv). */
export interface ConvBnSpec {
  conv: ConvSpec;
  bn: string;
  relu: boolean;
}

export interface BlockSpec {
  /** e.g. `layer3.1` */
  name: string;
  /** Main path; the residual is added after the last BN, then ReLU. */
  main: ConvBnSpec[];
  downsample?: ConvBnSpec;
}

export interface StageSpec {
  feature: FeatureName;
  layer: 'layer1' | 'layer2' | 'layer3' | 'layer4';
  stride: number;
  channels: number;
  blocks: BlockSpec[];
}

export interface ResNetArch {
  name: string;
  block: BlockKind;
  baseWidth: number;
  /** conv1 (7×7/2, pad 3) → bn1 → ReLU, then 3×3/2 max pool with pad 1. */
  stem: ConvBnSpec;
  stages: StageSpec[];
}

const FEATURES: readonly FeatureName[] = ['res2', 'res3', 'res4', 'res5'];

export function describeResNet(name: string, spec: ResNetDepthSpec, baseWidth: number): ResNetArch {
  if (!Number.isInteger(baseWidth) || baseWidth < 1) {
    throw new Error(`${name}: baseWidth must be a positive integer (got ${baseWidth})`);
  }
  const expansion = spec.block === 'basic' ? 1 : 4;
  const conv = (n: string, kernel: number, stride: number, inC: number, outC: number): ConvSpec => ({
    name: n,
    kernel,
    stride,
    pad: (kernel - 1) / 2,
    inChannels: inC,
    outChannels: outC,
  });
  const stem: ConvBnSpec = { conv: conv('conv1', 7, 2, 3, baseWidth), bn: 'bn1', relu: true };
  let inplanes = baseWidth;
  let totalStride = 4;
  const stages: StageSpec[] = spec.layers.map((numBlocks, s) => {
    const planes = baseWidth * 2 ** s;
    const stageStride = s === 0 ? 1 : 2;
    totalStride *= stageStride;
    const layer = `layer${s + 1}` as StageSpec['layer'];
    const blocks: BlockSpec[] = [];
    for (let b = 0; b < numBlocks; b++) {
      const p = `${layer}.${b}`;
      const stride = b === 0 ? stageStride : 1;
      const main: ConvBnSpec[] =
        spec.block === 'basic'
          ? [
              { conv: conv(`${p}.conv1`, 3, stride, inplanes, planes), bn: `${p}.bn1`, relu: true },
              { conv: conv(`${p}.conv2`, 3, 1, planes, planes), bn: `${p}.bn2`, relu: false },
            ]
          : [
              { conv: conv(`${p}.conv1`, 1, 1, inplanes, planes), bn: `${p}.bn1`, relu: true },
              // v1.5: the stride is on the 3×3, not the first 1×1.
              { conv: conv(`${p}.conv2`, 3, stride, planes, planes), bn: `${p}.bn2`, relu: true },
              { conv: conv(`${p}.conv3`, 1, 1, planes, planes * expansion), bn: `${p}.bn3`, relu: false },
            ];
      const needsDownsample = stride !== 1 || inplanes !== planes * expansion;
      const block: BlockSpec = { name: p, main };
      if (needsDownsample) {
        block.downsample = {
          conv: conv(`${p}.downsample.0`, 1, stride, inplanes, planes * expansion),
          bn: `${p}.downsample.1`,
          relu: false,
        };
      }
      blocks.push(block);
      inplanes = planes * expansion;
    }
    return { feature: FEATURES[s], layer, stride: totalStride, channels: planes * expansion, blocks };
  });
  return { name, block: spec.block, baseWidth, stem, stages };
}

/** Every conv-BN pair in torchvision's module order (stem, then each block's main path, then downsample). */
export function convBnPairs(arch: ResNetArch): ConvBnSpec[] {
  const out: ConvBnSpec[] = [arch.stem];
  for (const stage of arch.stages) {
    for (const block of stage.blocks) {
      out.push(...block.main);
      if (block.downsample) out.push(block.downsample);
    }
  }
  return out;
}

/** 0 for the stem (`conv1`, `bn1`), s for torchvision's `layer{s}` (= res{s+1}); -1 if unknown. */
export function resNetStageOf(name: string): number {
  if (name.startsWith('conv1.') || name.startsWith('bn1.')) return 0;
  const m = /^layer(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

export interface ResNetBackbone extends Backbone {
  readonly arch: ResNetArch;
  readonly numBatchesTracked: Map<string, number>;
}

export function isResNetBackbone(b: Backbone): b is ResNetBackbone {
  return 'arch' in b && typeof (b as ResNetBackbone).arch === 'object';
}

export interface BackboneOptions {
  /** Width of the stem and layer1 (64 = torchvision); every stage scales with it. */
  baseWidth?: number;
  /** Same seed → identical weights. */
  seed?: number;
}

export function createResNet(name: ResNetName, options: BackboneOptions = {}): ResNetBackbone {
  const baseWidth = options.baseWidth ?? 64;
  const seed = options.seed ?? 0;
  const arch = describeResNet(name, RESNET_DEPTHS[name], baseWidth);
  const set = createParameterSet();
  // Module order = torchvision's state_dict order (conv1, bn1, layer1.0.conv1, layer1.0.bn1, ...).
  for (const { conv, bn } of convBnPairs(arch)) {
    addConv(set, conv.name, conv.kernel, conv.inChannels, conv.outChannels, seed);
    addBatchNorm(set, bn, conv.outChannels);
  }
  const featureInfo = Object.fromEntries(
    arch.stages.map((s) => [s.feature, { stride: s.stride, channels: s.channels }]),
  ) as Record<FeatureName, FeatureInfo>;

  const convBn = (x: tf.Tensor4D, spec: ConvBnSpec, options: ForwardOptions): tf.Tensor4D => {
    const { conv } = spec;
    const w = getParam(set, `${conv.name}.weight`) as tf.Tensor4D;
    // Numeric padding is symmetric like torch's; 'same' would pad (0, 1) at stride 2 on even sizes.
    const y = tf.conv2d(x, w, conv.stride, conv.pad === 0 ? 'valid' : conv.pad);
    const z = applyBatchNorm(set, spec.bn, y, options);
    return spec.relu ? tf.relu(z) : z;
  };

  return {
    name,
    baseWidth,
    arch,
    featureInfo,
    params: set.params,
    buffers: set.buffers,
    numBatchesTracked: set.numBatchesTracked,
    stageOf: resNetStageOf,
    forward(x: tf.Tensor4D, options: ForwardOptions): Record<FeatureName, tf.Tensor4D> {
      checkImageBatch(name, x);
      return tf.tidy(() => {
        let h = convBn(x, arch.stem, options);
        // Max-pool padding: TF.js ignores padded cells, as torch's -inf padding does.
        h = tf.maxPool(h, 3, 2, 1);
        const out = {} as Record<FeatureName, tf.Tensor4D>;
        for (const stage of arch.stages) {
          for (const block of stage.blocks) {
            let y = h;
            for (const spec of block.main) y = convBn(y, spec, options);
            const shortcut = block.downsample ? convBn(h, block.downsample, options) : h;
            h = tf.relu(tf.add(y, shortcut)) as tf.Tensor4D;
          }
          out[stage.feature] = h;
        }
        return out;
      });
    },
    dispose(): void {
      disposeParameterSet(set);
    },
  };
}
