/**
 * The BYOL target update ξ ← τξ + (1 − τ)θ, applied to parameters and BN buffers alike, so the
 * target's running statistics follow the online network's instead of drifting on their own.
 */
import * as tf from '@tensorflow/tfjs';

export function emaUpdate(
  target: Map<string, tf.Variable>,
  online: Map<string, tf.Variable>,
  tau: number,
): void {
  tf.tidy(() => {
    for (const [name, t] of target) {
      const o = online.get(name);
      if (!o) throw new Error(`EMA: online network has no ${name}`);
      t.assign(t.mul(tau).add(o.mul(1 - tau)));
    }
  });
}

/** Copies online values into the target (its initialisation: ξ = θ). */
export function copyInto(target: Map<string, tf.Variable>, online: Map<string, tf.Variable>): void {
  tf.tidy(() => {
    for (const [name, t] of target) t.assign(online.get(name)!);
  });
}
