/**
 * Transpose (float32) for the wasm backend, in front of the stock kernel. The stock kernel walks the
 * output in order and gathers each element from the input; when the gathered axis has a large
 * power-of-two stride every read misses the cache (associativity conflicts): [512,256]ᵀ took
 * 0.63 ms where an add of the same size takes 0.09 ms, and the weight gradient's batch/channel swap
 * of a [32,24,24,32] activation 2.2 ms. Those transposes cost ~40 ms of a ResNet-18 BYOL step.
 *
 * Here a permutation is first reduced to its canonical form (axes of size 1 dropped, axes that stay
 * neighbours merged), which leaves, for every transpose the engine makes, one of:
 * - a (batched, strided) 2-D transpose: [A, B] → [B, A], [A, B, C] → [A, C, B] or [C, B, A];
 *   run in WebAssembly SIMD (wasm-asm.ts) as 4×4 tiles (four row loads, eight lane shuffles, four
 *   row stores), 16 source rows at a time so that each destination cache line is written whole;
 * - a transpose of contiguous blocks: [A, B, C] → [B, A, C]: one SIMD copy per block.
 * Rows or columns beyond a multiple of 4 are finished in JavaScript; shapes with a side below 4 or
 * blocks not a multiple of 4 floats, other dtypes and permutations of 4+ canonical axes go to the
 * stock kernel. Only data is moved, so results are bit-identical to it.
 */
import * as tf from '@tensorflow/tfjs';
import { forLoop, type FunctionSpec, heapFunction, I32, minInto, op, simd, V128 } from './wasm-asm';
import { type Info, WasmScope } from './wasm-scope';

type Args = Parameters<tf.KernelFunc>[0];

/** Axes of size 1 dropped, then runs of axes that stay adjacent and in order merged. */
export function canonicalPermutation(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  // Renumber the kept axes 0..k-1 in input order.
  const order = [...kept].sort((p, q) => p - q);
  const renumbered = kept.map((axis) => order.indexOf(axis));
  const keptShape = order.map((axis) => shape[axis]);
  // Merge output neighbours that are input neighbours too.
  const groups: number[][] = [];
  for (const axis of renumbered) {
    const last = groups.at(-1);
    if (last && last[last.length - 1] + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const byInput = [...groups].sort((p, q) => p[0] - q[0]);
  return {
    shape: byInput.map((g) => g.reduce((p, axis) => p * keptShape[axis], 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/**
 * fn(src, dst, rows, cols, srcRowBytes, dstRowBytes, count, srcOuterBytes, dstOuterBytes, oBlock):
 * for o < count, r < rows, c < cols (rows and cols multiples of 4):
 *   dst[o·dstOuter + c·dstRow + r] = src[o·srcOuter + r·srcRow + c],
 * items o taken `oBlock` at a time inside each tile (see planOf).
 */
export type TransposeFn = (
  src: number,
  dst: number,
  rows: number,
  cols: number,
  srcRowBytes: number,
  dstRowBytes: number,
  count: number,
  srcOuterBytes: number,
  dstOuterBytes: number,
  oBlock: number,
) => void;

/** fn(src, dst, a, b, blockBytes): dst[j][i][·] = src[i][j][·] for i < a, j < b; blockBytes a multiple of 16. */
export type BlocksFn = (src: number, dst: number, a: number, b: number, blockBytes: number) => void;

/** The SIMD functions on this backend's heap (undefined where the heap or SIMD is not found). */
export const transposeFunction = (backend: unknown) =>
  heapFunction<TransposeFn>(backend, 'transpose4x4', transposeSpec);
export const blocksFunction = (backend: unknown) =>
  heapFunction<BlocksFn>(backend, 'transposeBlocks', blocksSpec);

/** Whether the SIMD forms are found on this backend (tests pin it; otherwise every call is stock). */
export function fastTransposeAvailable(backend: unknown): boolean {
  return transposeFunction(backend) !== undefined && blocksFunction(backend) !== undefined;
}

export function makeTransposeWasm(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: Args) => {
    const x = args.inputs.x as Info;
    const { perm } = args.attrs as unknown as { perm: number[] };
    // An empty tensor: an empty result (the stock kernel divides by zero on some empty shapes).
    if (x.shape.includes(0)) {
      const s = new WasmScope(args.backend as ConstructorParameters<typeof WasmScope>[0]);
      return s.keep(
        s.alloc(
          perm.map((axis) => x.shape[axis]),
          x.dtype as 'float32' | 'int32',
        ),
      );
    }
    if (x.dtype !== 'float32') return stock(args);
    const c = canonicalPermutation(x.shape, perm);
    const plan = planOf(c.shape, c.perm);
    if (!plan) return stock(args);
    const fn = transposeFunction(args.backend);
    const blocks = blocksFunction(args.backend);
    if (!fn || !blocks) return stock(args);
    const s = new WasmScope(args.backend as ConstructorParameters<typeof WasmScope>[0]);
    const out = s.alloc(perm.map((axis) => x.shape[axis]));
    // Views after the allocation (an allocation may grow the heap and detach older views).
    const src = s.f32(x);
    const dst = s.f32(out);
    if (plan.kind === 'blocks') blocks(src.byteOffset, dst.byteOffset, plan.a, plan.b, 4 * plan.block);
    else runTranspose(fn, src, dst, plan);
    return s.keep(out);
  };
}

interface Strided {
  kind: 'strided';
  rows: number;
  cols: number;
  srcRow: number;
  dstRow: number;
  count: number;
  srcOuter: number;
  dstOuter: number;
  /** Items per tile pass: 1 when items are far apart; more when neighbouring items share cache lines. */
  oBlock: number;
}
type Plan = Strided | { kind: 'blocks'; a: number; b: number; block: number };

/** Element strides of the canonical cases, or undefined for the stock kernel. */
function planOf(shape: number[], perm: number[]): Plan | undefined {
  const key = perm.join('');
  let plan: Plan | undefined;
  if (key === '10') {
    const [a, b] = shape;
    plan = {
      kind: 'strided',
      rows: a,
      cols: b,
      srcRow: b,
      dstRow: a,
      count: 1,
      srcOuter: 0,
      dstOuter: 0,
      oBlock: 1,
    };
  } else if (key === '021') {
    const [a, b, c] = shape;
    plan = {
      kind: 'strided',
      rows: b,
      cols: c,
      srcRow: c,
      dstRow: b,
      count: a,
      srcOuter: b * c,
      dstOuter: b * c,
      oBlock: 1,
    };
  } else if (key === '210') {
    // dst[k][j][i] = src[i][j][k]: for each j a transpose of i × k, rows b·c apart. Items j are
    // neighbours in memory, so 16 of them go through each tile together: 4 source rows then stream
    // 16 consecutive runs instead of jumping b·c floats per access (a power of two's multiple for
    // the conv weight gradient's [N, H, W, C] → [C, H, W, N], which thrashes the cache sets).
    const [a, b, c] = shape;
    plan = {
      kind: 'strided',
      rows: a,
      cols: c,
      srcRow: b * c,
      dstRow: b * a,
      count: b,
      srcOuter: c,
      dstOuter: a,
      oBlock: 16,
    };
  } else if (key === '102') {
    const [a, b, c] = shape;
    if (c % 4 === 0) plan = { kind: 'blocks', a, b, block: c };
  }
  if (plan?.kind === 'strided') {
    // Worth it only when the SIMD part is most of the work (the JS edges run ~8 ns per element).
    const body = (plan.rows - (plan.rows % 4)) * (plan.cols - (plan.cols % 4));
    if (body < 0.75 * plan.rows * plan.cols) return undefined;
  }
  return plan;
}

function runTranspose(fn: TransposeFn, src: Float32Array, dst: Float32Array, p: Strided): void {
  const rows4 = p.rows - (p.rows % 4);
  const cols4 = p.cols - (p.cols % 4);
  fn(
    src.byteOffset,
    dst.byteOffset,
    rows4,
    cols4,
    4 * p.srcRow,
    4 * p.dstRow,
    p.count,
    4 * p.srcOuter,
    4 * p.dstOuter,
    p.oBlock,
  );
  if (rows4 === p.rows && cols4 === p.cols) return;
  for (let o = 0; o < p.count; o++) {
    const s0 = o * p.srcOuter;
    const d0 = o * p.dstOuter;
    // The last rows (all columns), then the last columns of the other rows.
    for (let r = rows4; r < p.rows; r++)
      for (let c = 0; c < p.cols; c++) dst[d0 + c * p.dstRow + r] = src[s0 + r * p.srcRow + c];
    for (let r = 0; r < rows4; r++)
      for (let c = cols4; c < p.cols; c++) dst[d0 + c * p.dstRow + r] = src[s0 + r * p.srcRow + c];
  }
}

/** Lane bytes of i8x16.shuffle picking f32 lanes (0–3 of the first operand, 4–7 of the second). */
const lanes = (...f32Lanes: number[]) => f32Lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

function transposeSpec(): FunctionSpec {
  const [src, dst, rows, cols, srs, drs, count, sso, dso, oBlock] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [ob, obEnd, r0, rEnd, c, r, o, p] = [10, 11, 12, 13, 14, 15, 16, 17];
  const [va, vb, vc, vd, t0, t1, t2, t3] = [18, 19, 20, 21, 22, 23, 24, 25];
  const { get, set, tee, i32, i32Add: add, i32Mul: mul } = op;
  const { load, store } = simd;
  const shuffle = (...l: number[]) => op.simd(0x0d, ...lanes(...l));
  const TILE = 16;
  // prettier-ignore
  const tile = [
    // Four source rows r..r+3 at column c of item o.
    ...get(src), ...get(o), ...get(sso), ...mul, ...add, ...get(r), ...get(srs), ...mul, ...add, ...get(c), ...i32(4), ...mul, ...add,
    ...tee(p), ...load, ...set(va),
    ...get(p), ...get(srs), ...add, ...tee(p), ...load, ...set(vb),
    ...get(p), ...get(srs), ...add, ...tee(p), ...load, ...set(vc),
    ...get(p), ...get(srs), ...add, ...load, ...set(vd),
    // [a0 b0 a1 b1], [a2 b2 a3 b3], [c0 d0 c1 d1], [c2 d2 c3 d3]
    ...get(va), ...get(vb), ...shuffle(0, 4, 1, 5), ...set(t0),
    ...get(va), ...get(vb), ...shuffle(2, 6, 3, 7), ...set(t1),
    ...get(vc), ...get(vd), ...shuffle(0, 4, 1, 5), ...set(t2),
    ...get(vc), ...get(vd), ...shuffle(2, 6, 3, 7), ...set(t3),
    // Destination rows c..c+3 at column r: [a0 b0 c0 d0], [a1 b1 c1 d1], [a2 …], [a3 …]
    ...get(dst), ...get(o), ...get(dso), ...mul, ...add, ...get(c), ...get(drs), ...mul, ...add, ...get(r), ...i32(4), ...mul, ...add,
    ...tee(p), ...get(t0), ...get(t2), ...shuffle(0, 1, 4, 5), ...store,
    ...get(p), ...get(drs), ...add, ...tee(p), ...get(t0), ...get(t2), ...shuffle(2, 3, 6, 7), ...store,
    ...get(p), ...get(drs), ...add, ...tee(p), ...get(t1), ...get(t3), ...shuffle(0, 1, 4, 5), ...store,
    ...get(p), ...get(drs), ...add, ...get(t1), ...get(t3), ...shuffle(2, 3, 6, 7), ...store,
  ];
  // for ob (step oBlock) / r0 (step TILE) / c (step 4) / r (r0..rEnd, step 4) / o (ob..obEnd): tile
  const body = forLoop(ob, i32(0), count, get(oBlock), [
    ...minInto(obEnd, ob, get(oBlock), count),
    ...forLoop(r0, i32(0), rows, i32(TILE), [
      ...minInto(rEnd, r0, i32(TILE), rows),
      ...forLoop(
        c,
        i32(0),
        cols,
        i32(4),
        forLoop(r, get(r0), rEnd, i32(4), forLoop(o, get(ob), obEnd, i32(1), tile)),
      ),
    ]),
  ]);
  return {
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [
      [8, I32],
      [8, V128],
    ],
    body,
  };
}

function blocksSpec(): FunctionSpec {
  const [src, dst, a, b, bytes] = [0, 1, 2, 3, 4];
  const [i, j, k, from, to] = [5, 6, 7, 8, 9];
  const { get, set, i32, i32Add: add, i32Mul: mul } = op;
  // for i < a, j < b: copy one block, 16 bytes at a time; the source is read in order.
  // prettier-ignore
  const copy = [
    // to = dst + (j·a + i)·bytes
    ...get(dst), ...get(j), ...get(a), ...mul, ...get(i), ...add, ...get(bytes), ...mul, ...add, ...set(to),
    ...forLoop(k, i32(0), bytes, i32(16), [
      ...get(to), ...get(k), ...add,
      ...get(from), ...get(k), ...add, ...simd.load,
      ...simd.store,
    ]),
    ...get(from), ...get(bytes), ...add, ...set(from),
  ];
  const body = [
    ...get(src),
    ...set(from),
    ...forLoop(i, i32(0), a, i32(1), forLoop(j, i32(0), b, i32(1), copy)),
  ];
  return { params: [I32, I32, I32, I32, I32], locals: [[5, I32]], body };
}
