/**
 * Fixes to TF.js's webgpu kernels (4.22) that the engine's training needs.
 *
 * AddN: the stock kernel binds every input to one shader; with more inputs than the device's
 * storage buffers per shader stage (8 by default, one taken by the output) its pipeline fails to
 * validate and the result is garbage (a fused dense EMD over SPC's 9 pyramid pairs hit this). Here
 * inputs are summed in chunks that fit, as TF.js's own Concat does.
 *
 * Conv2DBackpropFilter / Conv2DBackpropInput: the stock kernels run naive shaders; ours go through
 * the tiled matMul/conv programs (kernels/webgpu-conv-grads.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { registerWebGpuConvGrads } from './kernels/webgpu-conv-grads';

interface StockKernelBackend extends tf.KernelBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): boolean;
}

let patched = false;

export function registerWebGpuKernels(): void {
  if (patched) return;
  const stock = tf.getKernel(tf.AddN, 'webgpu');
  if (!stock) throw new Error("webgpu-kernels.ts: TF.js's webgpu AddN kernel is not registered");
  patched = true;
  registerWebGpuConvGrads();
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({
    kernelName: tf.AddN,
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const backend = args.backend as StockKernelBackend;
      const max = backend.device.limits.maxStorageBuffersPerShaderStage - 1;
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      const made: tf.TensorInfo[] = [];
      while (inputs.length > max) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += max) {
          const chunk = inputs.slice(i, i + max);
          if (chunk.length === 1) next.push(chunk[0]);
          else {
            const sum = stock.kernelFunc({
              ...args,
              inputs: chunk as unknown as tf.NamedTensorInfoMap,
            }) as tf.TensorInfo;
            made.push(sum);
            next.push(sum);
          }
        }
        inputs = next;
      }
      const out = stock.kernelFunc({
        ...args,
        inputs: inputs as unknown as tf.NamedTensorInfoMap,
      }) as tf.TensorInfo;
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    },
  });
}
