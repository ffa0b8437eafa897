/**
 * BatchMatMul for the wasm backend, in front of the stock kernel. The stock kernel hands only a
 * single 2-D product without transpose flags to XNNPACK; a transposed operand or a batch > 1 runs
 * a naive loop there (0.4–1.6 GFLOP/s). Every 2-D matMul gradient is transposed (dA = dy·Bᵀ,
 * dB = Aᵀ·dy), so with the stock kernel the backward pass of every linear layer took that path:
 * in a Self-EMD step the dense heads' weight gradients alone cost ~0.5 s.
 * Here:
 * - a single product whose sides fit the FMA GEMM's tile (M % 4 = N % 8 = 0) runs there when the
 *   engine has relaxed SIMD and XNNPACK has no thread pool to use (gemm.ts: ~1.5–2× XNNPACK's
 *   speed); a transposed A is transposed first, a transposed B is transposed while packed;
 * - otherwise a transposed operand is transposed explicitly (the wasm Transpose kernel, O(size))
 *   and the product goes to XNNPACK untransposed: [288,512]ᵀ·[288,128] 64 ms → 3.3 ms;
 * - a batch of products each large enough (≥ PER_ITEM_MIN_MACS multiply-adds) runs as one XNNPACK
 *   product per item on copies of the operands: [64,49,256]·[64,256,49] 51 ms → ~9 ms;
 * - everything else (no transposes and batch 1, or tiny batched products where per-call overhead
 *   would dominate) goes to the stock kernel unchanged, so results there are bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmPoolThreads } from '../wasm-threaded';
import { GEMM_MR, GEMM_NR, gemmFunction } from './gemm';
import { blocksFunction, transposeFunction } from './transpose';
import { type Info, type WasmScope, withScope } from './wasm-scope';

/** Below this many multiply-adds per batch item the stock loop beats one XNNPACK call per item. */
const PER_ITEM_MIN_MACS = 16384;

interface Attrs {
  transposeA: boolean;
  transposeB: boolean;
}

type Args = Parameters<tf.KernelFunc>[0];

const size = (shape: number[]) => shape.reduce((p, q) => p * q, 1);

export function makeBatchMatMulWasm(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: Args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = args.attrs as unknown as Attrs;
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return stock(args);
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const [p, qa] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
    const [qb, r] = transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
    const batch = Math.max(batchA, batchB);
    const plain = !transposeA && !transposeB;
    // Shapes the stock kernel rejects (or broadcasts in ways we do not handle) keep its errors.
    if (qa !== qb || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return stock(args);
    const outShape = [
      ...tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)),
      p,
      r,
    ];
    // An empty inner side: zeros (the stock kernel leaves its output uninitialised there).
    if (qa === 0) return withScope(args.backend, (s) => s.alloc(outShape, 'float32', 0));
    if (batch === 1 && p % GEMM_MR === 0 && r % GEMM_NR === 0 && wasmPoolThreads() === 1) {
      const out = fmaProduct(args.backend, a, b, p, qa, r, transposeA, transposeB, outShape);
      if (out) return out;
    }
    if (batch === 1 && plain) return stock(args);
    if (batch > 1 && p * qa * r < PER_ITEM_MIN_MACS) return stock(args);
    return withScope(args.backend, (s) => {
      const run = (x: Info, y: Info) =>
        stock({
          inputs: { a: x, b: y },
          backend: s.backend,
          attrs: { transposeA: false, transposeB: false },
        }) as Info;
      const tracked = (x: Info, y: Info) => s.track(run(x, y));
      if (batch === 1) {
        const x = transposeA ? transpose2d(s, a, qa, p) : a;
        const y = transposeB ? transpose2d(s, b, r, qb) : b;
        return s.run('Reshape', { x: tracked(x, y) }, { shape: outShape });
      }
      return perItem(s, a, b, batchA, batchB, p, qa, r, transposeA, transposeB, run, outShape);
    });
  };
}

/**
 * op(a)[p, q] · op(b)[q, r] with the FMA GEMM, or undefined where it is not available. B is packed
 * into r/8 panels [q, 8]: from [q, r] by moving 8-float blocks, from a transposed [r, q] by the
 * strided 4×4 transpose (q % 4 = 0; otherwise B is transposed first).
 */
function fmaProduct(
  backend: unknown,
  a: Info,
  b: Info,
  p: number,
  q: number,
  r: number,
  transposeA: boolean,
  transposeB: boolean,
  outShape: number[],
): Info | undefined {
  // An empty side stays with the stock kernel (the GEMM's k loop runs at least once).
  if (p === 0 || q === 0 || r === 0) return undefined;
  const gemm = gemmFunction(backend);
  const blocks = blocksFunction(backend);
  const transpose = transposeFunction(backend);
  if (!gemm || !blocks || !transpose) return undefined;
  return withScope(backend, (s) => {
    const x = transposeA ? transpose2d(s, a, q, p) : a;
    const packedFromT = transposeB && q % 4 === 0;
    const y = transposeB && !packedFromT ? transpose2d(s, b, r, q) : b;
    const packed = s.alloc([q * r]);
    const out = s.alloc(outShape);
    // Views after the last allocation (an allocation may grow the heap and detach older views).
    const [xv, yv, pv, ov] = [x, y, packed, out].map((t) => s.f32(t).byteOffset);
    if (packedFromT)
      transpose(yv, pv, GEMM_NR, q, 4 * q, 4 * GEMM_NR, r / GEMM_NR, 4 * GEMM_NR * q, 4 * GEMM_NR * q, 1);
    else blocks(yv, pv, q, r / GEMM_NR, 4 * GEMM_NR);
    // Rows in blocks of ~32 KB of A, so that a block stays in the L1/L2 cache across the panels.
    const mBlock = Math.max(GEMM_MR, Math.floor(8192 / q / GEMM_MR) * GEMM_MR);
    gemm(xv, pv, ov, p, r, q, mBlock);
    return out;
  });
}

/** The [rows, cols] matrix held by `x` (any leading dims of size 1), transposed to [cols, rows]. */
function transpose2d(s: WasmScope, x: Info, rows: number, cols: number): Info {
  const x2 = s.run('Reshape', { x }, { shape: [rows, cols] });
  return s.run('Transpose', { x: x2 }, { perm: [1, 0] });
}

/**
 * out[i] = op(a[i])·op(b[i]) with one untransposed 2-D product per item: operands are copied
 * (transposed in the copy when flagged) into fresh heap tensors, the product is copied out.
 * Heap views are taken right after the last allocation of each round (an allocation may grow the
 * heap and detach older views).
 */
function perItem(
  s: WasmScope,
  a: Info,
  b: Info,
  batchA: number,
  batchB: number,
  p: number,
  q: number,
  r: number,
  transposeA: boolean,
  transposeB: boolean,
  run: (x: Info, y: Info) => Info,
  outShape: number[],
): Info {
  const batch = Math.max(batchA, batchB);
  const out = s.alloc(outShape);
  for (let i = 0; i < batch; i++) {
    const x = s.backend.makeOutput([p, q], 'float32');
    const y = s.backend.makeOutput([q, r], 'float32');
    try {
      const av = s.f32(a).subarray((batchA === 1 ? 0 : i) * p * q, ((batchA === 1 ? 0 : i) + 1) * p * q);
      const bv = s.f32(b).subarray((batchB === 1 ? 0 : i) * q * r, ((batchB === 1 ? 0 : i) + 1) * q * r);
      copyMaybeTransposed(av, s.f32(x), p, q, transposeA);
      copyMaybeTransposed(bv, s.f32(y), q, r, transposeB);
      const prod = run(x, y);
      s.f32(out).set(s.f32(prod), i * p * r);
      s.backend.disposeData(prod.dataId);
    } finally {
      s.backend.disposeData(x.dataId);
      s.backend.disposeData(y.dataId);
    }
  }
  return out;
}

/** dst [rows, cols] = src, where src holds the matrix as [rows, cols] or, when `transposed`, [cols, rows]. */
function copyMaybeTransposed(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  cols: number,
  transposed: boolean,
): void {
  if (!transposed) {
    dst.set(src);
    return;
  }
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) dst[o + j] = src[j * rows + i];
  }
}
