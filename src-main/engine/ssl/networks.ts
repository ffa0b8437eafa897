/**
 * The encoders of every pretraining method. MoCo v2 and SimCLR use the same parts minus the
 * predictor (online: backbone → pool → projector); MoCo's key encoder is the target below.
 * The two encoders of BYOL / Self-EMD:
 *   online: backbone → global pool → projector → predictor            (p)
 *                    ↘ dense projector (1×1) → dense predictor (1×1)   (p_map, Self-EMD only)
 *   target: backbone → global pool → projector                        (z)
 *                    ↘ dense projector (1×1)                           (z_map, Self-EMD only)
 * The target has the online architecture minus predictors; its weights are an EMA of the online
 * ones (ema.ts). The paper keeps the MLP branch beside the dense one to produce the global vectors
 * the Eq. 13 marginals need, which is why both branches exist here.
 */
import * as tf from '@tensorflow/tfjs';
import { projectionHead, usesPredictor, type PretrainConfig } from '../../../shared/config/pretrain';
import { createDenseMlpHead, createMlpHead, type DenseMlpHead, type MlpHead } from '../models/heads';
import { createBackbone } from '../models/registry';
import type { Backbone, BatchStatsSink, ParameterSet } from '../models/types';

export interface Encoder {
  backbone: Backbone;
  projector: MlpHead;
  predictor?: MlpHead;
  denseProjector?: DenseMlpHead;
  densePredictor?: DenseMlpHead;
}

export interface EncoderOutput {
  /** Global vector: p for the online encoder, z for the target. [B, D] */
  global: tf.Tensor2D;
  /** Projection before the predictor (online only), for the collapse monitor. [B, D] */
  projection: tf.Tensor2D;
  /** Dense map: p_map (online) or z_map (target). [B, h, w, D] */
  dense?: tf.Tensor4D;
}

/** Module prefixes inside checkpoints and the flat parameter maps. */
const PARTS = ['backbone', 'projector', 'predictor', 'denseProjector', 'densePredictor'] as const;

export function createEncoder(config: PretrainConfig, role: 'online' | 'target', seed: number): Encoder {
  const backbone = createBackbone(config.backbone.name, { baseWidth: config.backbone.baseWidth, seed });
  const featDim = backbone.featureInfo.res5.channels;
  const { hidden: projectorHidden, dim: projectionDim } = projectionHead(config);
  const { predictorHidden } = config.byol;
  const dense = config.method === 'self-emd';
  const enc: Encoder = {
    backbone,
    projector: createMlpHead('projector', featDim, projectorHidden, projectionDim, seed + 1),
  };
  if (role === 'online' && usesPredictor(config.method))
    enc.predictor = createMlpHead('predictor', projectionDim, predictorHidden, projectionDim, seed + 2);
  if (dense) {
    enc.denseProjector = createDenseMlpHead(
      'dense_projector',
      featDim,
      projectorHidden,
      projectionDim,
      seed + 3,
    );
    if (role === 'online')
      enc.densePredictor = createDenseMlpHead(
        'dense_predictor',
        projectionDim,
        predictorHidden,
        projectionDim,
        seed + 4,
      );
  }
  return enc;
}

export function parts(enc: Encoder): [string, ParameterSet][] {
  return PARTS.flatMap((k) => (enc[k] ? [[k, enc[k]] as [string, ParameterSet]] : []));
}

/** Flat `part/name` → variable maps, the unit the optimizer, the EMA and checkpoints work on. */
export function encoderVariables(enc: Encoder, which: 'params' | 'buffers'): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [part, set] of parts(enc)) for (const [name, v] of set[which]) out.set(`${part}/${name}`, v);
  return out;
}

/** The target's variables are the online's minus the predictors; same keys. */
export function sharedWithTarget(
  online: Map<string, tf.Variable>,
  target: Map<string, tf.Variable>,
): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const k of target.keys()) out.set(k, online.get(k)!);
  return out;
}

/**
 * Runs an encoder on a batch, by default in training mode (batch statistics, as BYOL does for both
 * networks). `sink` receives BN moments keyed `part/bnName`, for the running-stat update after the step.
 */
export function encode(enc: Encoder, x: tf.Tensor4D, sink?: BatchStatsSink, training = true): EncoderOutput {
  const opts = (part: string) => ({
    training,
    onBatchStats: sink
      ? (bn: string, m: tf.Tensor1D, v: tf.Tensor1D, n: number) => sink(`${part}/${bn}`, m, v, n)
      : undefined,
  });
  const feats = enc.backbone.forward(x, opts('backbone')).res5;
  const pooled = tf.mean(feats, [1, 2]) as tf.Tensor2D;
  const projection = enc.projector.forward(pooled, opts('projector'));
  const global = enc.predictor ? enc.predictor.forward(projection, opts('predictor')) : projection;
  let dense: tf.Tensor4D | undefined;
  if (enc.denseProjector) {
    const dz = enc.denseProjector.forward(feats, opts('denseProjector'));
    dense = enc.densePredictor ? enc.densePredictor.forward(dz, opts('densePredictor')) : dz;
  }
  return { global, projection, dense };
}

export function partOf(enc: Encoder, key: string): { set: ParameterSet; name: string } {
  const slash = key.indexOf('/');
  const part = key.slice(0, slash) as (typeof PARTS)[number];
  const set = enc[part];
  if (!set) throw new Error(`encoder has no part ${part}`);
  return { set, name: key.slice(slash + 1) };
}

export function disposeEncoder(enc: Encoder): void {
  for (const [, set] of parts(enc)) (set as unknown as { dispose(): void }).dispose();
}
