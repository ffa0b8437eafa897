/**
 * SGD with momentum and decoupled-from-BN weight decay, PyTorch semantics:
 *   g ← g + wd·w (only for parameters `decays(name)` says yes to), v ← μv + g, w ← w − lr·v.
 * Kept by hand rather than tf.train.momentum so the momentum buffers are named, checkpointable
 * and restorable exactly (bit-for-bit resume).
 */
import * as tf from '@tensorflow/tfjs';
import { SGD_MOMENTUM, sgdMomentumAvailable } from '../backend/kernels/sgd-momentum';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  /** Which parameters get weight decay: conv/linear weights yes, BN parameters and biases no. */
  decays: (name: string) => boolean;
}

/** Conv and linear weights are rank ≥ 2; BN γ/β and biases are rank 1. */
export const decayOnlyMatrices =
  (params: Map<string, tf.Variable>) =>
  (name: string): boolean =>
    (params.get(name)?.rank ?? 0) >= 2;

export class Sgd {
  readonly momentumBuffers = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    private readonly options: SgdOptions,
  ) {
    for (const [name, p] of params) {
      // A variable shares its initial tensor's data; dispose the handle so nothing leaks.
      const zeros = tf.zerosLike(p);
      this.momentumBuffers.set(name, tf.variable(zeros, false));
      zeros.dispose();
    }
  }

  /** Applies one update; `grads` are keyed like `params`. Missing gradients leave a parameter untouched. */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    const { momentum, weightDecay, decays } = this.options;
    if (tf.getKernel(SGD_MOMENTUM, tf.getBackend()) && sgdMomentumAvailable(tf.backend())) {
      // wasm: one fused kernel per parameter, bit-identical to the op form below.
      for (const [name, p] of this.params) {
        const grad = grads.get(name);
        if (!grad) continue;
        const buf = this.momentumBuffers.get(name)!;
        const attrs = { lr, momentum, weightDecay: weightDecay > 0 && decays(name) ? weightDecay : 0 };
        const [w, v] = tf
          .engine()
          .runKernel(SGD_MOMENTUM, { param: p, grad, velocity: buf }, attrs) as tf.Tensor[];
        buf.assign(v);
        p.assign(w);
        tf.dispose([w, v]);
      }
      return;
    }
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g0 = grads.get(name);
        if (!g0) continue;
        const g = weightDecay > 0 && decays(name) ? g0.add(p.mul(weightDecay)) : g0;
        const buf = this.momentumBuffers.get(name)!;
        const v = buf.mul(momentum).add(g);
        buf.assign(v);
        p.assign(p.sub(v.mul(lr)));
      }
    });
  }

  dispose(): void {
    for (const b of this.momentumBuffers.values()) b.dispose();
    this.momentumBuffers.clear();
  }
}
