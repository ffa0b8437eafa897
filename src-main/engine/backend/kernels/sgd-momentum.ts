/**
 * One SGD-with-momentum update of one parameter as a single wasm kernel, for train/sgd.ts:
 *   g ← g₀ + wd·w,  v ← μ·v + g,  w ← w − lr·v      (PyTorch's order; decay off skips the first)
 * As tensor ops that is six elementwise kernels per parameter, ~17 ms per ResNet-18 (width 32)
 * update here, each pass allocating its result; here it is one pass over w, g and v in WebAssembly
 * SIMD on the backend's heap (wasm-asm.ts), 4 lanes at a time. Every intermediate is a float32
 * operation in the op form's order, so both forms give bit-identical weights and buffers.
 * (The same loop in JavaScript took 35 ms: typed-array loops run ~8 ns per element here.)
 *
 * Kernel: SelfEmdSgdMomentum {param, grad, velocity}, {lr, momentum, weightDecay} → [param', velocity']
 */
import type * as tf from '@tensorflow/tfjs';
import { F32, forLoop, type FunctionSpec, heapFunction, I32, op, simd, V128 } from './wasm-asm';
import { type Info, WasmScope } from './wasm-scope';

export const SGD_MOMENTUM = 'SelfEmdSgdMomentum';

interface Attrs {
  lr: number;
  momentum: number;
  weightDecay: number;
}

type SgdFn = (
  w: number,
  g: number,
  v: number,
  wOut: number,
  vOut: number,
  bytes: number,
  lr: number,
  momentum: number,
  weightDecay: number,
  decay: number,
) => void;

/** Whether the kernel can run here (the wasm heap function is found); sgd.ts falls back to ops otherwise. */
export function sgdMomentumAvailable(backend: unknown): boolean {
  return heapFunction<SgdFn>(backend, 'sgdMomentum', sgdSpec) !== undefined;
}

export function sgdMomentumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): Info[] {
  const { param, grad, velocity } = args.inputs as { param: Info; grad: Info; velocity: Info };
  const { lr, momentum, weightDecay } = args.attrs as unknown as Attrs;
  const size = param.shape.reduce((p, q) => p * q, 1);
  for (const [name, t] of [
    ['grad', grad],
    ['velocity', velocity],
  ] as const) {
    if (t.shape.reduce((p, q) => p * q, 1) !== size || t.dtype !== 'float32' || param.dtype !== 'float32') {
      throw new Error(
        `${SGD_MOMENTUM}: ${name} [${t.shape}] ${t.dtype} does not match param [${param.shape}] ${param.dtype}`,
      );
    }
  }
  const fn = heapFunction<SgdFn>(args.backend, 'sgdMomentum', sgdSpec);
  if (!fn)
    throw new Error(
      `${SGD_MOMENTUM}: the wasm heap function is not available (check sgdMomentumAvailable first)`,
    );
  const s = new WasmScope(args.backend as ConstructorParameters<typeof WasmScope>[0]);
  const newParam = s.alloc(param.shape);
  const newVelocity = s.alloc(velocity.shape);
  // Views after the last allocation (an allocation may grow the heap and detach older views).
  const [w, g, v, wOut, vOut] = [param, grad, velocity, newParam, newVelocity].map((t) => s.f32(t));
  const body = size - (size % 4);
  const decay = weightDecay > 0;
  fn(
    w.byteOffset,
    g.byteOffset,
    v.byteOffset,
    wOut.byteOffset,
    vOut.byteOffset,
    4 * body,
    lr,
    momentum,
    weightDecay,
    decay ? 1 : 0,
  );
  const f = Math.fround;
  for (let i = body; i < size; i++) {
    const gi = decay ? f(g[i] + f(w[i] * f(weightDecay))) : g[i];
    const vi = f(f(v[i] * f(momentum)) + gi);
    vOut[i] = vi;
    wOut[i] = f(w[i] - f(vi * f(lr)));
  }
  return [s.keep(newParam), s.keep(newVelocity)];
}

/** fn(w, g, v, wOut, vOut, bytes, lr, momentum, weightDecay, decay): the loop over whole f32x4 groups. */
function sgdSpec(): FunctionSpec {
  const [w, g, v, wOut, vOut, bytes, lr, mu, wd, decay] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, wv, gv, vv, lrv, muv, wdv] = [10, 11, 12, 13, 14, 15, 16];
  const { get, set, tee, i32, i32Add: add, end } = op;
  const { load, store, f32x4Splat: splat, f32x4Add, f32x4Sub, f32x4Mul } = simd;
  // prettier-ignore
  const step = [
    ...get(w), ...get(i), ...add, ...load, ...set(wv),
    ...get(g), ...get(i), ...add, ...load, ...set(gv),
    // g ← g + w·wd (only with decay)
    ...get(decay), ...op.if, ...get(gv), ...get(wv), ...get(wdv), ...f32x4Mul, ...f32x4Add, ...set(gv), ...end,
    // v ← v·μ + g, stored
    ...get(vOut), ...get(i), ...add,
    ...get(v), ...get(i), ...add, ...load, ...get(muv), ...f32x4Mul, ...get(gv), ...f32x4Add, ...tee(vv),
    ...store,
    // w ← w − v·lr, stored
    ...get(wOut), ...get(i), ...add,
    ...get(wv), ...get(vv), ...get(lrv), ...f32x4Mul, ...f32x4Sub,
    ...store,
  ];
  // prettier-ignore
  const body = [
    ...get(lr), ...splat, ...set(lrv),
    ...get(mu), ...splat, ...set(muv),
    ...get(wd), ...splat, ...set(wdv),
    ...forLoop(i, i32(0), bytes, i32(16), step),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, I32],
    locals: [
      [1, I32],
      [6, V128],
    ],
    body,
  };
}
