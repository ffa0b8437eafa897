/**
 * MobileNetV2's `features` trunk (torchvision 0.14, `torchvision.models.mobilenet_v2`) as a
 * functional backbone with explicit variables keyed by torchvision's state_dict names. No
 * classifier: this is a backbone. At width multiplier 1.0 it has torchvision's 2,223,872 trainable
 * parameters (BN running statistics are buffers).
 *
 * Width: `baseWidth` is the stem's channel count (torchvision: 32), so the width multiplier is
 * baseWidth / 32 and every layer's channels follow torchvision's `_make_divisible(c · α, 8)`; the last
 * 1×1 conv keeps 1280 · max(1, α) channels as torchvision does. Multiples of 8 only, so the stem
 * has exactly baseWidth channels and a checkpoint's width is read back from it.
 *
 * Named maps for the FPN (strides 4/8/16/32), each the output of the last layer at its stride —
 * detectron2's convention for res2..res5 (the last block of each stage), and for stride 32 the end
 * of `features` (features.18, 1280 channels), which is also the last map torchvision's
 * `_mobilenet_extractor` returns to its FPN:
 *   res2 = features.3 (24·α), res3 = features.6 (32·α), res4 = features.13 (96·α),
 *   res5 = features.18 (1280·max(1, α)).
 * The names res2..res5 are the engine's level names (stride 2^k), shared by every backbone.
 *
 * Depthwise weights are held as [kh, kw, 1, C] — a grouped conv's [kh, kw, in/groups, out] — so the
 * export's generic HWIO → OIHW transpose yields torch's [C, 1, kh, kw]; the forward pass reshapes
 * them (free: a size-1 axis moves) to TF.js's depthwise layout [kh, kw, C, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { backboneWidthProblem } from '../../../shared/config/backbones';
import { checkImageBatch } from './backbone-input';
import { applyBatchNorm } from './batch-norm-layer';
import { addBatchNorm, addConv, createParameterSet, disposeParameterSet, getParam } from './parameter-set';
import type { BackboneOptions } from './resnet';
import type { Backbone, FeatureInfo, FeatureName, ForwardOptions } from './types';

/** torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s. */
const INVERTED_RESIDUAL_SETTING = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

/** The stem's channels at width multiplier 1 (torchvision's `input_channel = 32`). */
export const MOBILENET_V2_STEM = 32;

/** Which `features.<i>` output each named map is (the last layer at strides 4, 8, 16, 32). */
export const MOBILENET_V2_FEATURE_LAYERS: Record<FeatureName, number> = {
  res2: 3,
  res3: 6,
  res4: 13,
  res5: 18,
};

/** torchvision's `_make_divisible(v, 8)`: round to a multiple of 8, never more than 10% down. */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** A conv (bias-free) → BN → optional ReLU6, torchvision's Conv2dNormActivation or a projection. */
export interface MobileConvSpec {
  /** Conv module name (`features.2.conv.1.0`); its weight is `<conv>.weight`. */
  conv: string;
  bn: string;
  kernel: number;
  stride: number;
  inChannels: number;
  outChannels: number;
  depthwise: boolean;
  relu6: boolean;
}

export interface MobileLayerSpec {
  /** Index in `features`. */
  index: number;
  convs: MobileConvSpec[];
  /** Inverted residual with stride 1 and equal in/out channels: the input is added back. */
  residual: boolean;
}

export interface MobileNetV2Arch {
  baseWidth: number;
  layers: MobileLayerSpec[];
  /** Stride and channels of each layer's output, by `features` index. */
  strides: number[];
  channels: number[];
}

export function describeMobileNetV2(baseWidth: number): MobileNetV2Arch {
  const problem = Number.isInteger(baseWidth)
    ? backboneWidthProblem('mobilenet_v2', baseWidth)
    : `must be an integer, got ${baseWidth}`;
  if (problem) throw new Error(`mobilenet_v2: baseWidth ${problem}`);
  const widthMult = baseWidth / MOBILENET_V2_STEM;
  const conv = (
    prefix: string,
    kernel: number,
    stride: number,
    inC: number,
    outC: number,
    kind: 'full' | 'depthwise' | 'linear',
    bnName?: string,
  ): MobileConvSpec => ({
    // Conv2dNormActivation is a Sequential (conv .0, BN .1); a bare projection conv has its own index.
    conv: kind === 'linear' ? prefix : `${prefix}.0`,
    bn: bnName ?? `${prefix}.1`,
    kernel,
    stride,
    inChannels: inC,
    outChannels: outC,
    depthwise: kind === 'depthwise',
    relu6: kind !== 'linear',
  });
  let input = makeDivisible(MOBILENET_V2_STEM * widthMult);
  const last = makeDivisible(1280 * Math.max(1, widthMult));
  const layers: MobileLayerSpec[] = [
    { index: 0, convs: [conv('features.0', 3, 2, 3, input, 'full')], residual: false },
  ];
  const strides = [2];
  const channels = [input];
  let stride = 2;
  for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTING) {
    const out = makeDivisible(c * widthMult);
    for (let i = 0; i < n; i++) {
      const index = layers.length;
      const blockStride = i === 0 ? s : 1;
      const hidden = Math.round(input * t);
      const p = `features.${index}.conv`;
      const convs: MobileConvSpec[] = [];
      let j = 0;
      if (t !== 1) convs.push(conv(`${p}.${j++}`, 1, 1, input, hidden, 'full'));
      convs.push(conv(`${p}.${j++}`, 3, blockStride, hidden, hidden, 'depthwise'));
      convs.push(conv(`${p}.${j}`, 1, 1, hidden, out, 'linear', `${p}.${j + 1}`));
      layers.push({ index, convs, residual: blockStride === 1 && input === out });
      stride *= blockStride;
      strides.push(stride);
      channels.push(out);
      input = out;
    }
  }
  layers.push({
    index: layers.length,
    convs: [conv(`features.${layers.length}`, 1, 1, input, last, 'full')],
    residual: false,
  });
  strides.push(stride);
  channels.push(last);
  return { baseWidth, layers, strides, channels };
}

/** 0 for the stem (features.0), k for the layers up to res{k+1}'s map; -1 for other names. */
export function mobileNetV2StageOf(name: string): number {
  const m = /^features\.(\d+)\./.exec(name);
  if (!m) return -1;
  const index = Number(m[1]);
  if (index === 0) return 0;
  const ends = Object.values(MOBILENET_V2_FEATURE_LAYERS);
  const k = ends.findIndex((end) => index <= end);
  return k < 0 ? -1 : k + 1;
}

export function createMobileNetV2(options: BackboneOptions = {}): Backbone {
  const baseWidth = options.baseWidth ?? MOBILENET_V2_STEM;
  const seed = options.seed ?? 0;
  const arch = describeMobileNetV2(baseWidth);
  const set = createParameterSet();
  // Module order = torchvision's state_dict order; depthwise weights as [k, k, 1, C] (see above).
  for (const layer of arch.layers) {
    for (const c of layer.convs) {
      if (c.depthwise) addConv(set, c.conv, c.kernel, 1, c.outChannels, seed);
      else addConv(set, c.conv, c.kernel, c.inChannels, c.outChannels, seed);
      addBatchNorm(set, c.bn, c.outChannels);
    }
  }
  const featureInfo = Object.fromEntries(
    Object.entries(MOBILENET_V2_FEATURE_LAYERS).map(([f, i]) => [
      f,
      { stride: arch.strides[i]!, channels: arch.channels[i]! },
    ]),
  ) as Record<FeatureName, FeatureInfo>;
  const featureAt = new Map(
    Object.entries(MOBILENET_V2_FEATURE_LAYERS).map(([f, i]) => [i, f as FeatureName]),
  );

  const convBn = (x: tf.Tensor4D, c: MobileConvSpec, options: ForwardOptions): tf.Tensor4D => {
    const w = getParam(set, `${c.conv}.weight`) as tf.Tensor4D;
    const pad = (c.kernel - 1) / 2;
    const padding = pad === 0 ? 'valid' : pad;
    const y = c.depthwise
      ? tf.depthwiseConv2d(x, tf.reshape(w, [c.kernel, c.kernel, c.outChannels, 1]), c.stride, padding)
      : tf.conv2d(x, w, c.stride, padding);
    const z = applyBatchNorm(set, c.bn, y, options);
    return c.relu6 ? tf.relu6(z) : z;
  };

  return {
    name: 'mobilenet_v2',
    baseWidth,
    featureInfo,
    params: set.params,
    buffers: set.buffers,
    numBatchesTracked: set.numBatchesTracked,
    stageOf: mobileNetV2StageOf,
    forward(x: tf.Tensor4D, options: ForwardOptions): Record<FeatureName, tf.Tensor4D> {
      checkImageBatch('mobilenet_v2', x);
      return tf.tidy(() => {
        const out = {} as Record<FeatureName, tf.Tensor4D>;
        let h = x;
        for (const layer of arch.layers) {
          let y = h;
          for (const c of layer.convs) y = convBn(y, c, options);
          h = layer.residual ? (tf.add(h, y) as tf.Tensor4D) : y;
          const f = featureAt.get(layer.index);
          if (f) out[f] = h;
        }
        return out;
      });
    },
    dispose(): void {
      disposeParameterSet(set);
    },
  };
}
