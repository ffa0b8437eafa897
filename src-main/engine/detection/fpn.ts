/**
 * Feature Pyramid Network (Lin et al. 2017) as detectron2 builds it: 1×1 lateral convs on the
 * backbone's named maps, a top-down path of 2× nearest upsampling and sums, 3×3 output convs, then
 * a top block for the coarser levels:
 *   - `p6p7` (RetinaNet): P6 = conv3×3/2(C5), P7 = conv3×3/2(ReLU(P6));
 *   - `maxpool` (Faster R-CNN): P6 = max_pool(k 1, s 2)(P5).
 * Parameter names are detectron2's (`fpn_lateral3`, `fpn_output3`, `top_block.p6`). Inputs must be
 * padded to a multiple of the coarsest backbone stride (32) so every upsampled map fits its lateral.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerNorm } from '../../../shared/config/finetune';
import { createParameterSet, disposeParameterSet, type MutableParameterSet } from '../models/parameter-set';
import type { FeatureInfo, FeatureName, ForwardOptions } from '../models/types';
import { addConvLayer, applyConvLayer } from './layers';

export type TopBlock = 'p6p7' | 'maxpool';

export interface FpnOptions {
  inFeatures: FeatureName[];
  featureInfo: Record<FeatureName, FeatureInfo>;
  channels: number;
  norm: LayerNorm;
  topBlock: TopBlock;
  seed: number;
}

export interface FpnLevel {
  name: string;
  stride: number;
}

export interface Fpn extends MutableParameterSet {
  /** Output levels finest first, e.g. p3..p7. */
  readonly levels: FpnLevel[];
  readonly channels: number;
  forward(features: Record<FeatureName, tf.Tensor4D>, options: ForwardOptions): tf.Tensor4D[];
  dispose(): void;
}

const stageOf = (f: FeatureName) => Number(f.slice(3));

export function createFpn(options: FpnOptions): Fpn {
  const { inFeatures, featureInfo, channels, norm, topBlock, seed } = options;
  const set = createParameterSet();
  for (const f of inFeatures) {
    const s = stageOf(f);
    const cin = featureInfo[f].channels;
    addConvLayer(
      set,
      `fpn_lateral${s}`,
      { kernel: 1, inChannels: cin, outChannels: channels, init: 'c2-xavier', norm },
      seed,
    );
    addConvLayer(
      set,
      `fpn_output${s}`,
      { kernel: 3, inChannels: channels, outChannels: channels, init: 'c2-xavier', norm },
      seed,
    );
  }
  const last = inFeatures[inFeatures.length - 1]!;
  const levels: FpnLevel[] = inFeatures.map((f) => ({
    name: `p${stageOf(f)}`,
    stride: featureInfo[f].stride,
  }));
  const lastStage = stageOf(last);
  const lastStride = featureInfo[last].stride;
  if (topBlock === 'p6p7') {
    const c5 = featureInfo[last].channels;
    addConvLayer(
      set,
      'top_block.p6',
      { kernel: 3, inChannels: c5, outChannels: channels, init: 'c2-xavier' },
      seed,
    );
    addConvLayer(
      set,
      'top_block.p7',
      { kernel: 3, inChannels: channels, outChannels: channels, init: 'c2-xavier' },
      seed,
    );
    levels.push(
      { name: `p${lastStage + 1}`, stride: lastStride * 2 },
      { name: `p${lastStage + 2}`, stride: lastStride * 4 },
    );
  } else {
    levels.push({ name: `p${lastStage + 1}`, stride: lastStride * 2 });
  }

  return {
    ...set,
    levels,
    channels,
    forward(features, opts) {
      return tf.tidy(() => {
        const outs: tf.Tensor4D[] = [];
        let prev: tf.Tensor4D | undefined;
        for (let i = inFeatures.length - 1; i >= 0; i--) {
          const f = inFeatures[i]!;
          const s = stageOf(f);
          const lateral = applyConvLayer(set, `fpn_lateral${s}`, features[f], opts);
          if (prev) {
            const [h, w] = lateral.shape.slice(1, 3) as [number, number];
            if (prev.shape[1] * 2 !== h || prev.shape[2] * 2 !== w)
              throw new Error(
                `FPN: ${f} is ${h}×${w}, not twice the level above (${prev.shape[1]}×${prev.shape[2]}); pad inputs to a multiple of 32`,
              );
            prev = tf.add(lateral, tf.image.resizeNearestNeighbor(prev, [h, w])) as tf.Tensor4D;
          } else prev = lateral;
          outs.unshift(applyConvLayer(set, `fpn_output${s}`, prev, opts));
        }
        if (topBlock === 'p6p7') {
          const p6 = applyConvLayer(set, 'top_block.p6', features[last], opts, 2);
          const p7 = applyConvLayer(set, 'top_block.p7', tf.relu(p6), opts, 2);
          outs.push(p6, p7);
        } else {
          outs.push(tf.maxPool(outs[outs.length - 1]!, 1, 2, 'valid'));
        }
        return outs;
      });
    },
    dispose() {
      disposeParameterSet(set);
    },
  };
}
