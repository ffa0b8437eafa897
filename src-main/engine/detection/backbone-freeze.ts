/**
 * How the backbone takes part in fine-tuning (detectron2's FREEZE_AT and FrozenBatchNorm2d):
 * with `frozen-bn` every backbone BN normalises with its stored running statistics and keeps γ/β
 * fixed; the first `freezeAt` stages (1 = stem, 2 = stem + res2, …) keep all their weights. With
 * `bn` the BNs use the detector's batch statistics, train γ/β and update running statistics.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackboneNorm } from '../../../shared/config/finetune';
import type { Backbone, BatchStatsSink, ForwardOptions } from '../models/types';

function isBatchNormParam(backbone: Backbone, name: string): boolean {
  const module = name.slice(0, name.lastIndexOf('.'));
  return backbone.buffers.has(`${module}.running_mean`);
}

export function backboneTrainableParams(
  backbone: Backbone,
  norm: BackboneNorm,
  freezeAt: number,
): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, v] of backbone.params) {
    if (norm === 'frozen-bn' && isBatchNormParam(backbone, name)) continue;
    const stage = backbone.stageOf(name);
    if (stage >= 0 && stage < freezeAt) continue;
    out.set(name, v);
  }
  return out;
}

export function backboneForwardOptions(
  norm: BackboneNorm,
  training: boolean,
  sink?: BatchStatsSink,
): ForwardOptions {
  if (norm === 'frozen-bn' || !training) return { training: false };
  return {
    training: true,
    onBatchStats: sink ? (bn, m, v, n) => sink(`backbone/${bn}`, m, v, n) : undefined,
  };
}
