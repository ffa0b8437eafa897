/**
 * A single-threaded f32 GEMM with fused multiply-adds, for the wasm backend's 2-D matMuls.
 *
 * Why: XNNPACK's wasm SIMD kernels run at ~17 GFLOP/s here, their ceiling without FMA (a separate
 * multiply and add per lane). WebAssembly's relaxed SIMD has f32x4.relaxed_madd, which V8 compiles
 * to vfmadd on x86 CPUs with FMA; XNNPACK in tfjs-backend-wasm 4.22 is built without it. The same
 * 4×8 register tile with fused multiply-adds runs ~1.5–2× as fast on the shapes of the dense heads
 * and of the last stage's input gradient (docs/performance.md has the figures).
 *
 * C[M, N] = A[M, K] · B[K, N], row-major, M a multiple of 4 and N of 8:
 * - B is first packed into N/8 panels [K, 8] (contiguous per column block, so the tile walks one
 *   stream instead of K rows a power-of-two stride apart), by the transpose kernels' SIMD functions:
 *   a block move for B, a strided 4×4 transpose for a transposed B ([N, K] stored).
 * - For each panel and each 4 rows of A: eight f32x4 accumulators, then per k four splatted A
 *   values times the panel's two vectors (eight fused multiply-adds), then one store of the tile.
 * Rounding differs from XNNPACK's (one rounding per multiply-add instead of two), so results agree
 * to float32 accuracy, not bit for bit. Relaxed SIMD is standard in newer engines (Electron's); on
 * Node 20 it needs V8's --experimental-wasm-relaxed-simd, set here before the first compile.
 * Where neither works, `gemmFunction` is undefined and matMuls stay with XNNPACK.
 */
import * as v8 from 'node:v8';
import {
  forLoop,
  type FunctionSpec,
  heapFunction,
  I32,
  minInto,
  op,
  simd,
  V128,
  validates,
} from './wasm-asm';

/**
 * fn(a, bPacked, c, m, n, k, mBlock): C = A · B with B packed as N/8 panels [K, 8]; m % 4 = n % 8 =
 * mBlock % 4 = 0, k ≥ 1. Rows go mBlock at a time through all panels.
 */
export type GemmFn = (
  a: number,
  bPacked: number,
  c: number,
  m: number,
  n: number,
  k: number,
  mBlock: number,
) => void;

export const GEMM_MR = 4;
export const GEMM_NR = 8;

let flagChecked = false;

/** The GEMM on this backend's heap, or undefined (no relaxed SIMD, no heap): callers use XNNPACK. */
export function gemmFunction(backend: unknown): GemmFn | undefined {
  if (!flagChecked) {
    flagChecked = true;
    // Node 20's V8 has relaxed SIMD behind a flag (read when a module is compiled); engines where
    // it is standard accept the module as it is and never see the flag.
    if (!validates(gemmSpec())) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  return heapFunction<GemmFn>(backend, 'gemm4x8fma', gemmSpec);
}

function gemmSpec(): FunctionSpec {
  // Parameters, then i32 locals, then v128 locals, numbered in that order.
  const [a, bp, c, m, n, k, mBlock] = [0, 1, 2, 3, 4, 5, 6];
  const [m0, mEnd, jt, it, kk, pa0, pa1, pa2, pa3, pb, pc, rowBytes, nBytes, panel] = range(7, 14);
  const acc = range(21, 8); // c00 c01 c10 c11 c20 c21 c30 c31
  const [b0, b1, av] = range(29, 3);
  const { get, set, tee, i32, i32Add: add, i32Sub: sub, i32Mul: mul, loop, end, brIf } = op;
  const { load32Splat, loadAt, storeAt, zero, f32x4RelaxedMadd: madd } = simd;
  const rows = [pa0, pa1, pa2, pa3];
  // prettier-ignore
  const kStep = [
    ...get(pb), ...loadAt(0), ...set(b0),
    ...get(pb), ...loadAt(16), ...set(b1),
    ...rows.flatMap((p, r) => [
      ...get(p), ...load32Splat, ...set(av),
      ...get(av), ...get(b0), ...get(acc[2 * r]), ...madd, ...set(acc[2 * r]),
      ...get(av), ...get(b1), ...get(acc[2 * r + 1]), ...madd, ...set(acc[2 * r + 1]),
      ...get(p), ...i32(4), ...add, ...set(p),
    ]),
    ...get(pb), ...i32(32), ...add, ...set(pb),
  ];
  // prettier-ignore
  const tile = [
    // Rows it..it+3 of A; the panel from its start; zero accumulators.
    ...get(a), ...get(it), ...get(rowBytes), ...mul, ...add, ...tee(pa0),
    ...get(rowBytes), ...add, ...tee(pa1), ...get(rowBytes), ...add, ...tee(pa2), ...get(rowBytes), ...add, ...set(pa3),
    ...get(panel), ...set(pb),
    ...acc.flatMap((x) => [...zero, ...set(x)]),
    // do { k step } while (--kk)
    ...get(k), ...set(kk),
    ...loop,
    ...kStep,
    ...get(kk), ...i32(1), ...sub, ...tee(kk), ...brIf(0),
    ...end,
    // C rows it..it+3, columns jt..jt+7.
    ...get(c), ...get(it), ...get(nBytes), ...mul, ...add, ...get(jt), ...i32(4), ...mul, ...add, ...set(pc),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...get(pc), ...get(acc[2 * r]), ...storeAt(0),
      ...get(pc), ...get(acc[2 * r + 1]), ...storeAt(16),
      ...get(pc), ...get(nBytes), ...add, ...set(pc),
    ]),
  ];
  // Rows in blocks of mBlock (a block of A stays in cache while every panel passes over it).
  // prettier-ignore
  const body = [
    ...get(k), ...i32(4), ...mul, ...set(rowBytes),
    ...get(n), ...i32(4), ...mul, ...set(nBytes),
    ...forLoop(m0, i32(0), m, get(mBlock), [
      ...minInto(mEnd, m0, get(mBlock), m),
      ...get(bp), ...set(panel),
      ...forLoop(jt, i32(0), n, i32(8), [
        ...forLoop(it, get(m0), mEnd, i32(4), tile),
        ...get(panel), ...get(rowBytes), ...i32(8), ...mul, ...add, ...set(panel),
      ]),
    ]),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [
      [14, I32],
      [11, V128],
    ],
    body,
  };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
