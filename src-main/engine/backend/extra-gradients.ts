/**
 * Zero gradients for comparison and logical kernels. TF.js registers none, so any loss that builds
 * a mask from a trained tensor (`tf.where(tf.less(tf.abs(d), 1), …)` in a smooth-L1 loss, the
 * positive/negative split of a focal loss) fails on every backend with "gradient function not
 * found for Less". Their gradient is zero almost everywhere, which is what TensorFlow uses too, so
 * registering it changes no result that worked before. Registered only where core has none.
 */
import * as tf from '@tensorflow/tfjs';

const BINARY = [
  'Less',
  'LessEqual',
  'Greater',
  'GreaterEqual',
  'Equal',
  'NotEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalXor',
];
const UNARY = ['LogicalNot'];

let done = false;

/** Registers the missing zero gradients (once); returns the kernel names it covered. */
export function registerMissingGradients(): string[] {
  const added: string[] = [];
  if (done) return added;
  done = true;
  for (const kernelName of [...BINARY, ...UNARY]) {
    if (tf.getGradient(kernelName)) continue;
    const inputs = BINARY.includes(kernelName) ? ['a', 'b'] : ['x'];
    tf.registerGradient({
      kernelName,
      inputsToSave: inputs,
      gradFunc: (_dy, saved) =>
        Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
    });
    added.push(kernelName);
  }
  return added;
}
