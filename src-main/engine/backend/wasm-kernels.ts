/**
 * Kernels supplied to the TF.js wasm backend so that plain `tf.*` model code trains on it.
 * Registered for backendName 'wasm' only: other backends keep their stock kernels, and model code
 * keeps calling tf.conv2d / tf.gather / … unchanged. `initBackend` calls `registerWasmKernels()`
 * when wasm is chosen; calling it again is a no-op.
 *
 * - Conv2DBackpropFilter: missing on wasm (every conv weight gradient).
 * - Conv2DBackpropInput: present but a naive loop; replaced by XNNPACK convolutions.
 * - UnsortedSegmentSum: missing on wasm (the gradient of tf.gather).
 * - DepthwiseConv2dNativeBackpropInput / …BackpropFilter: missing on wasm (every depthwise conv's
 *   gradients, so MobileNetV2); direct loops over the heap (depthwise-conv-grads.ts).
 * - BatchMatMul: the stock kernel runs a naive loop for transposed operands (every matMul
 *   gradient) and batches; wrapped so those reach XNNPACK too (batch-mat-mul.ts).
 * - Identity: the stock kernel copies the data. Tensors are immutable, so the output can share
 *   the input's buffer (as Reshape does, and the cpu backend's Identity). It matters because
 *   every tf.customGrad keeps clones of what it saves for the backward pass: with the copy, each
 *   batch norm copied its whole input once per step.
 * - SelfEmdBatchNormTrain(+Grad): not TF.js kernels; training-mode batch norm as backend-level
 *   calls for nn/batch-norm.ts (see batch-norm-train.ts).
 * - SelfEmdSgdMomentum: not a TF.js kernel; one SGD-momentum update per parameter in WebAssembly
 *   SIMD for train/sgd.ts (see sgd-momentum.ts).
 * - Transpose: the stock kernel gathers with cache-missing strides (power-of-two shapes: 5–15× an
 *   add of the same size); batched 2-D transposes run as SIMD 4×4 tiles instead (transpose.ts).
 * - MaxPoolGrad, AvgPoolGrad: present but 20–50× slower than the forward pools; AvgPoolGrad also
 *   divided by k² where the forward pass divides by the non-padded count (see pool-grads.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { makeBatchMatMulWasm } from './kernels/batch-mat-mul';
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  batchNormTrainGradWasm,
  batchNormTrainWasm,
} from './kernels/batch-norm-train';
import { conv2dBackpropFilterWasm } from './kernels/conv2d-backprop-filter';
import { conv2dBackpropInputWasm } from './kernels/conv2d-backprop-input';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './kernels/depthwise-conv-grads';
import { avgPoolGradWasm, maxPoolGradWasm } from './kernels/pool-grads';
import { SGD_MOMENTUM, sgdMomentumWasm } from './kernels/sgd-momentum';
import { makeTransposeWasm } from './kernels/transpose';
import { unsortedSegmentSumWasm } from './kernels/unsorted-segment-sum';

const BACKEND = 'wasm';

type KernelArgs = Parameters<tf.KernelFunc>[0];

let registered: string[] | undefined;
let stockBackpropInput: tf.KernelFunc | undefined;

/** Registers (once) the supplied wasm kernels; returns the kernel names it supplies. */
export function registerWasmKernels(): string[] {
  if (registered) return registered;
  // The stock Conv2DBackpropInput stays reachable for the NCHW layout the replacement does not take.
  const stock = tf.getKernel(tf.Conv2DBackpropInput, BACKEND);
  stockBackpropInput = stock?.kernelFunc;
  const stockIdentity = tf.getKernel(tf.Identity, BACKEND)?.kernelFunc;
  const stockMatMul = tf.getKernel(tf.BatchMatMul, BACKEND)?.kernelFunc;
  if (!stockMatMul) throw new Error('wasm-kernels.ts: the wasm backend has no BatchMatMul kernel');
  const stockTranspose = tf.getKernel(tf.Transpose, BACKEND)?.kernelFunc;
  if (!stockTranspose) throw new Error('wasm-kernels.ts: the wasm backend has no Transpose kernel');
  const supplied: tf.KernelConfig[] = [
    { kernelName: tf.Conv2DBackpropFilter, backendName: BACKEND, kernelFunc: conv2dBackpropFilterWasm },
    { kernelName: tf.Conv2DBackpropInput, backendName: BACKEND, kernelFunc: backpropInput },
    { kernelName: tf.UnsortedSegmentSum, backendName: BACKEND, kernelFunc: unsortedSegmentSumWasm },
    {
      kernelName: tf.DepthwiseConv2dNativeBackpropInput,
      backendName: BACKEND,
      kernelFunc: depthwiseBackpropInputWasm,
    },
    {
      kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
      backendName: BACKEND,
      kernelFunc: depthwiseBackpropFilterWasm,
    },
    { kernelName: tf.MaxPoolGrad, backendName: BACKEND, kernelFunc: maxPoolGradWasm },
    { kernelName: tf.AvgPoolGrad, backendName: BACKEND, kernelFunc: avgPoolGradWasm },
    { kernelName: tf.BatchMatMul, backendName: BACKEND, kernelFunc: makeBatchMatMulWasm(stockMatMul) },
    { kernelName: tf.Transpose, backendName: BACKEND, kernelFunc: makeTransposeWasm(stockTranspose) },
    {
      kernelName: tf.Identity,
      backendName: BACKEND,
      kernelFunc: (args) => sharedIdentity(args, stockIdentity),
    },
    {
      kernelName: BATCH_NORM_TRAIN,
      backendName: BACKEND,
      kernelFunc: batchNormTrainWasm as unknown as tf.KernelFunc,
    },
    {
      kernelName: BATCH_NORM_TRAIN_GRAD,
      backendName: BACKEND,
      kernelFunc: batchNormTrainGradWasm as unknown as tf.KernelFunc,
    },
    {
      kernelName: SGD_MOMENTUM,
      backendName: BACKEND,
      kernelFunc: sgdMomentumWasm as unknown as tf.KernelFunc,
    },
  ];
  for (const config of supplied) {
    // Unregister first: re-registering over a stock kernel works but logs a warning.
    if (tf.getKernel(config.kernelName, BACKEND)) tf.unregisterKernel(config.kernelName, BACKEND);
    tf.registerKernel(config);
  }
  registered = supplied.map((c) => c.kernelName);
  return registered;
}

function sharedIdentity(args: KernelArgs, stock: tf.KernelFunc | undefined): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string' && stock) return stock(args) as tf.TensorInfo;
  (args.backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function backpropInput(args: KernelArgs): tf.TensorInfo {
  if ((args.attrs as { dataFormat?: string } | undefined)?.dataFormat === 'NCHW' && stockBackpropInput) {
    return stockBackpropInput(args) as tf.TensorInfo;
  }
  return conv2dBackpropInputWasm(args);
}

/** The stock wasm Conv2DBackpropInput, for benchmarks and tests (undefined before registration). */
export function stockWasmConv2dBackpropInput(): tf.KernelFunc | undefined {
  return stockBackpropInput;
}
