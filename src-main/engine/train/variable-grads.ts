/**
 * tf.variableGrads over variables keyed by our names (`part/name`). TF.js keys its gradients by its
 * own variable names, unique per process and meaningless to the optimizer and checkpoints; this
 * hands them back under the caller's keys.
 */
import * as tf from '@tensorflow/tfjs';

export function keyedVariableGrads(
  f: () => tf.Scalar,
  vars: ReadonlyMap<string, tf.Variable>,
): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const keyOfTfName = new Map<string, string>();
  for (const [key, v] of vars) keyOfTfName.set(v.name, key);
  const { value, grads } = tf.variableGrads(f, [...vars.values()]);
  const byKey = new Map<string, tf.Tensor>();
  for (const [tfName, g] of Object.entries(grads)) byKey.set(keyOfTfName.get(tfName)!, g);
  return { value, grads: byKey };
}
