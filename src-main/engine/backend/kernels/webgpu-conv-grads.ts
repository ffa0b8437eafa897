/**
 * Conv2DBackpropFilter and Conv2DBackpropInput for the webgpu backend, through TF.js's tiled
 * programs instead of its naive ones. TF.js 4.22's webgpu weight gradient is one thread per weight
 * looping over batch × output pixels (Conv2DDerFilterProgram), and its input gradient is a direct
 * loop (Conv2DDerInputProgram) unless WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE is false.
 *
 * Weight gradient: dW[(a,b,i), o] = Σ_r cols[r, (a,b,i)] · dy[r, o] over the output pixels r, where
 * cols is the im2col matrix of x (Im2ColRowsProgram): one transposed-A BatchMatMul (TF.js's tiled
 * matMul). cols is built a block of rows at a time, each block's bytes under the device's storage
 * binding limit (and CONV_GRAD_TUNING.maxChunkBytes), the block products summed. When the K × Co
 * output has few 32×32 tiles, TF.js's matMul picks its split-K / small-output programs itself.
 * (Splitting the rows into groups of one batched product, summed after, was measured slower:
 * ResNet-18 step at 96 px width 32 batch 2 on SwiftShader, weight gradient ÷ forward 3.23 with
 * groups against 1.12 without; the Sum over the groups costs a transpose and a reduction.)
 * An unpadded 1×1 stride-1 kernel needs no im2col: x itself is the matrix.
 *
 * Input gradient, two paths (CONV_GRAD_TUNING.inputGrad; the bench measures both):
 * - 'conv': dx is the stride-1 valid convolution of dy spread onto the stride grid and padded
 *   (SpreadPadProgram) with the spatially flipped, in/out-swapped filter: the backend's Conv2D,
 *   i.e. its tiled Conv2DMMProgram (or matMul for 1×1). Chunked by images like the weight gradient.
 *   A 1×1 kernel multiplies first and spreads the product (no work on the zeros).
 * - 'mm': TF.js's own Conv2DDerInputMMProgram (the flag set to false for the call). It needs no
 *   intermediate at all.
 * 'auto' (the default) takes the product form for 1×1 kernels and 'mm' for larger ones: measured
 * on the ResNet-18 step above, twice, 1×1/2 layers ran 0.35–0.85 × the forward in product form
 * against 1.4–4.7 × through 'mm'; the 3×3 stride-1 layers, weighted by count, summed to 11.3 and
 * 12.7 (× forward) through 'mm' against 15.1 and 14.6 through 'conv'; 3×3 stride 2 was even. Those
 * are SwiftShader figures (a CPU emulation), the only adapter here: re-measure on a GPU with
 * `npm run bench -- --backend webgpu --only conv-grads`.
 *
 * Dilations: TF.js's conv2d gradient refuses dilation > 1, so neither kernel is asked for one.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { type ConvGradAttrs, convGradGeometry } from './conv-grad-geometry';
import { type Info, KernelScope, inScope } from './kernel-scope';
import { Im2ColRowsProgram, SpreadPadProgram } from './webgpu-conv-programs';

type Uniform = { type: 'int32'; data: number[] };

interface WebGpuBackendLike {
  disposeData(dataId: object): boolean;
  runWebGPUProgram(program: WebGPUProgram, inputs: Info[], dtype: tf.DataType, uniforms?: Uniform[]): Info;
  device: { limits: { maxStorageBufferBindingSize: number; maxBufferSize: number } };
}

/** Choices the bench and tests change; the defaults are what training uses. */
export const CONV_GRAD_TUNING = {
  /** Largest intermediate (im2col block, spread dy) in bytes, below the device's binding limit. */
  maxChunkBytes: 64 * 2 ** 20,
  /** Input-gradient path, see the header. */
  inputGrad: 'auto' as 'auto' | 'conv' | 'mm',
};

const F32 = 4;

function chunkBytes(backend: WebGpuBackendLike): number {
  const l = backend.device.limits;
  return Math.min(CONV_GRAD_TUNING.maxChunkBytes, l.maxStorageBufferBindingSize, l.maxBufferSize);
}

const scope = (backend: unknown) => new KernelScope(backend as WebGpuBackendLike, 'webgpu');

export function conv2dBackpropFilterWebGpu(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: [number, number, number, number] };
  const backend = args.backend as WebGpuBackendLike;
  const xShape = x.shape as [number, number, number, number];
  const g = convGradGeometry('Conv2DBackpropFilter (webgpu)', xShape, attrs.filterShape, dy.shape, attrs);
  const { n, h, w, ci, co, kh, kw, ho, wo, sh, sw, pt, pl } = g;
  const m = n * ho * wo;
  const k = kh * kw * ci;
  return inScope(scope(backend), (s) => {
    const dy2 = s.run('Reshape', { x: dy }, { shape: [m, co] });
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && ho === h && wo === w) {
      const x2 = s.run('Reshape', { x }, { shape: [m, ci] });
      const prod = s.run('BatchMatMul', { a: x2, b: dy2 }, { transposeA: true, transposeB: false });
      return s.run('Reshape', { x: prod }, { shape: attrs.filterShape });
    }
    const rowsPerChunk = Math.max(1, Math.floor(chunkBytes(backend) / (k * F32)));
    let acc: Info | undefined;
    for (let row0 = 0; row0 < m; row0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, m - row0);
      const cols = s.track(
        backend.runWebGPUProgram(new Im2ColRowsProgram(rows, k), [x], 'float32', [
          { type: 'int32', data: [row0] },
          { type: 'int32', data: [ho] },
          { type: 'int32', data: [wo] },
          { type: 'int32', data: [kw] },
          { type: 'int32', data: [sh, sw] },
          { type: 'int32', data: [pt, pl] },
        ]),
      );
      const dyRows = rows === m ? dy2 : s.run('Slice', { x: dy2 }, { begin: [row0, 0], size: [rows, co] });
      const part = s.run('BatchMatMul', { a: cols, b: dyRows }, { transposeA: true, transposeB: false });
      // Free the block's big intermediates before the next block allocates its own.
      s.free(cols);
      if (dyRows !== dy2) s.free(dyRows);
      if (acc) {
        const sum = s.run('Add', { a: acc, b: part });
        s.free(acc);
        s.free(part);
        acc = sum;
      } else acc = part;
    }
    return s.run('Reshape', { x: acc! }, { shape: attrs.filterShape });
  });
}

let stockInputGrad: tf.KernelFunc | undefined;
let stockFilterGrad: tf.KernelFunc | undefined;

/** TF.js's own (naive) kernels, captured when ours replaced them: for the bench's comparison. */
export function stockWebGpuConvGrads(): { filter: tf.KernelFunc; input: tf.KernelFunc } | undefined {
  return stockFilterGrad && stockInputGrad ? { filter: stockFilterGrad, input: stockInputGrad } : undefined;
}

/** TF.js's Conv2DBackpropInput with its tiled (MM) program rather than the naive one. */
function inputGradMm(args: Parameters<tf.KernelFunc>[0]): Info {
  if (!stockInputGrad) throw new Error('Conv2DBackpropInput (webgpu): the stock kernel was not captured');
  const env = tf.env();
  const flag = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE';
  const before = env.getBool(flag);
  env.set(flag, false);
  try {
    return stockInputGrad(args) as Info;
  } finally {
    env.set(flag, before);
  }
}

export function conv2dBackpropInputWebGpu(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): Info {
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: [number, number, number, number] };
  const backend = args.backend as WebGpuBackendLike;
  const filterShape = filter.shape as [number, number, number, number];
  const g = convGradGeometry('Conv2DBackpropInput (webgpu)', attrs.inputShape, filterShape, dy.shape, attrs);
  const { n, h, w, ci, co, kh, kw, ho, wo, sh, sw, pt, pl } = g;
  const path = CONV_GRAD_TUNING.inputGrad;
  if (path === 'mm' || (path === 'auto' && (kh > 1 || kw > 1))) return inputGradMm(args);
  const budget = chunkBytes(backend);
  const spread = (s: KernelScope, src: Info, n0: number, count: number, shape: number[], pads: number[]) =>
    s.track(
      backend.runWebGPUProgram(
        new SpreadPadProgram([count, shape[0], shape[1], shape[2]]),
        [src],
        'float32',
        [
          { type: 'int32', data: [n0] },
          { type: 'int32', data: [sh, sw] },
          { type: 'int32', data: pads },
        ],
      ),
    );

  if (kh === 1 && kw === 1) {
    // dx at the pixels the stride visits is dy · Wᵀ; every other pixel is 0.
    return inScope(scope(backend), (s) => {
      const dy2 = s.run('Reshape', { x: dy }, { shape: [n * ho * wo, co] });
      const w2 = s.run('Reshape', { x: filter }, { shape: [ci, co] });
      const prod = s.run('BatchMatMul', { a: dy2, b: w2 }, { transposeA: false, transposeB: true });
      const sub = s.run('Reshape', { x: prod }, { shape: [n, ho, wo, ci] });
      if (sh === 1 && sw === 1 && ho === h && wo === w && pt === 0 && pl === 0) return sub;
      return spread(s, sub, 0, n, [h, w, ci], [pt, pl]);
    });
  }

  const top = kh - 1 - pt;
  const left = kw - 1 - pl;
  const hp = h + kh - 1;
  const wp = w + kw - 1;
  const perImage = hp * wp * co * F32;
  // Explicit padding beyond the kernel, or one image over the budget: TF.js's tiled program.
  if (top < 0 || left < 0 || perImage > budget) return inputGradMm(args);
  const imagesPerChunk = Math.max(1, Math.floor(budget / perImage));
  return inScope(scope(backend), (s) => {
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const wT = s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, Co, Ci]
    const parts: Info[] = [];
    for (let n0 = 0; n0 < n; n0 += imagesPerChunk) {
      const count = Math.min(imagesPerChunk, n - n0);
      const padded = spread(s, dy, n0, count, [hp, wp, co], [top, left]);
      parts.push(
        s.run(
          'Conv2D',
          { x: padded, filter: wT },
          { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
        ),
      );
      s.free(padded);
    }
    return parts.length === 1 ? parts[0] : s.run('Concat', parts, { axis: 0 });
  });
}

/** Registers both kernels on webgpu in place of TF.js's (call once, after the package loaded). */
export function registerWebGpuConvGrads(): void {
  stockInputGrad = tf.getKernel(tf.Conv2DBackpropInput, 'webgpu')?.kernelFunc;
  stockFilterGrad = tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu')?.kernelFunc;
  if (!stockInputGrad || !stockFilterGrad)
    throw new Error("webgpu-conv-grads.ts: TF.js's webgpu conv gradient kernels are not registered");
  for (const [kernelName, kernelFunc] of [
    [tf.Conv2DBackpropFilter, conv2dBackpropFilterWebGpu],
    [tf.Conv2DBackpropInput, conv2dBackpropInputWebGpu],
  ] as const) {
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
