/**
 * The Fast R-CNN box head on RoIAlign features (detectron2's FastRCNNConvFCHead with 2 FC layers,
 * c2_xavier init) and its predictor (FastRCNNOutputLayers): K + 1 class scores (normal std 0.01)
 * and class-specific box deltas 4·K (normal std 0.001), biases 0.
 */
import * as tf from '@tensorflow/tfjs';
import {
  createParameterSet,
  disposeParameterSet,
  type MutableParameterSet,
} from '../../models/parameter-set';
import { addLinearLayer, applyLinearLayer } from '../layers';

export interface BoxHead extends MutableParameterSet {
  /** [R, P, P, C] pooled features → class logits [R, K + 1] and deltas [R, 4K]. */
  forward(pooled: tf.Tensor4D): { logits: tf.Tensor2D; deltas: tf.Tensor2D };
  dispose(): void;
}

export function createBoxHead(
  inputShape: [number, number, number],
  numFc: number,
  fcDim: number,
  numClasses: number,
  seed: number,
): BoxHead {
  const set = createParameterSet();
  let dim = inputShape[0] * inputShape[1] * inputShape[2];
  for (let i = 0; i < numFc; i++) {
    addLinearLayer(set, `box_head.fc${i + 1}`, dim, fcDim, 'c2-xavier', seed);
    dim = fcDim;
  }
  addLinearLayer(set, 'box_predictor.cls_score', dim, numClasses + 1, { std: 0.01 }, seed);
  addLinearLayer(set, 'box_predictor.bbox_pred', dim, numClasses * 4, { std: 0.001 }, seed);
  return {
    ...set,
    forward(pooled) {
      return tf.tidy(() => {
        let h = tf.reshape(pooled, [pooled.shape[0], -1]) as tf.Tensor2D;
        for (let i = 0; i < numFc; i++) h = tf.relu(applyLinearLayer(set, `box_head.fc${i + 1}`, h));
        return {
          logits: applyLinearLayer(set, 'box_predictor.cls_score', h),
          deltas: applyLinearLayer(set, 'box_predictor.bbox_pred', h),
        };
      });
    },
    dispose() {
      disposeParameterSet(set);
    },
  };
}
