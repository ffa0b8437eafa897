/**
 * The Mask R-CNN mask head (He et al. 2017) as detectron2's MaskRCNNConvUpsampleHead: on the
 * RoIAlign features of each RoI ([R, 14, 14, C] by default), `numConv` 3×3 convs with ReLU, a 2×2
 * stride-2 transposed conv with ReLU (14 → 28), and a 1×1 conv to one mask logit map per class.
 * Inits are detectron2's: c2_msra_fill (normal, std √(2 / fan_out)) for the convs and the deconv,
 * normal std 0.001 for the predictor, biases 0. Names are detectron2's (`mask_head.mask_fcn1`,
 * `mask_head.deconv`, `mask_head.predictor`).
 */
import * as tf from '@tensorflow/tfjs';
import { normalArray } from '../../models/init';
import {
  addParam,
  createParameterSet,
  disposeParameterSet,
  getParam,
  type MutableParameterSet,
} from '../../models/parameter-set';
import { addConvLayer, applyConvLayer } from '../layers';

export interface MaskHeadSpec {
  inChannels: number;
  numConv: number;
  convDim: number;
  numClasses: number;
}

export interface MaskHead extends MutableParameterSet {
  /** [R, P, P, C] pooled features → mask logits [R, 2P, 2P, K]. */
  forward(pooled: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** c2_msra_fill: kaiming normal with fan_out = k² · out channels (ReLU gain). */
const msra = (kernel: number, outChannels: number) => ({
  std: Math.sqrt(2 / (kernel * kernel * outChannels)),
});

export function createMaskHead(spec: MaskHeadSpec, seed: number): MaskHead {
  const { inChannels, numConv, convDim, numClasses: K } = spec;
  const set = createParameterSet();
  let cin = inChannels;
  for (let i = 1; i <= numConv; i++) {
    addConvLayer(
      set,
      `mask_head.mask_fcn${i}`,
      { kernel: 3, inChannels: cin, outChannels: convDim, init: msra(3, convDim) },
      seed,
    );
    cin = convDim;
  }
  // ConvTranspose2d(cin, convDim, 2, stride 2) in TF.js's conv2dTranspose layout [k, k, out, in];
  // torch's fan_out for a transposed conv's weight [in, out, k, k] is in · k².
  const deconv = 'mask_head.deconv.weight';
  addParam(set, deconv, normalArray(4 * convDim * cin, Math.sqrt(2 / (4 * cin)), seed, deconv), [
    2,
    2,
    convDim,
    cin,
  ]);
  addParam(set, 'mask_head.deconv.bias', new Float32Array(convDim), [convDim]);
  addConvLayer(
    set,
    'mask_head.predictor',
    { kernel: 1, inChannels: convDim, outChannels: K, init: { std: 0.001 } },
    seed,
  );
  return {
    ...set,
    forward(pooled) {
      return tf.tidy(() => {
        let h = pooled;
        const opts = { training: false };
        for (let i = 1; i <= numConv; i++)
          h = tf.relu(applyConvLayer(set, `mask_head.mask_fcn${i}`, h, opts));
        const [R, H, W] = h.shape;
        // A 2×2 kernel at stride 2 touches each output pixel once: no overlap, exactly 2H × 2W.
        h = tf.conv2dTranspose(
          h,
          getParam(set, deconv) as tf.Tensor4D,
          [R, 2 * H, 2 * W, convDim],
          2,
          'valid',
        );
        h = tf.relu(tf.add(h, getParam(set, 'mask_head.deconv.bias'))) as tf.Tensor4D;
        return applyConvLayer(set, 'mask_head.predictor', h as tf.Tensor4D, opts);
      });
    },
    dispose() {
      disposeParameterSet(set);
    },
  };
}
