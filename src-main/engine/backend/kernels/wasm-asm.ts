/**
 * Small WebAssembly functions that run directly on the wasm backend's heap, for loops that are slow
 * in JavaScript (~3–8 ns per typed-array element here) and have no TF.js kernel: one function per
 * module, assembled here from opcodes rather than shipped as an opaque binary, and instantiated on
 * the backend's own memory (an imported memory follows its growth), so arguments are byte addresses
 * of tensors and nothing is copied.
 *
 * Only the opcodes the kernels use are named below (WebAssembly core + fixed-width SIMD).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

const uleb = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...uleb(v >>> 7)]);
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (t: string): number[] => vec([...t].map((ch) => [ch.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Opcodes with their immediates. Local indices and constants must be < 64 (one LEB128 byte). */
export const op = {
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32: (v: number) => [0x41, v],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Eqz: [0x45],
  i32Mul: [0x6c],
  i32Ne: [0x47],
  i32GeU: [0x4f],
  i32LtU: [0x49],
  /** select(a, b, cond): a when cond ≠ 0, else b. */
  select: [0x1b],
  block: [0x02, 0x40],
  if: [0x04, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  f32Load: (offset: number) => [0x2a, 2, offset],
  f32Store: (offset: number) => [0x38, 2, offset],
  f32Add: [0x92],
  /** SIMD opcodes: 0xfd, then the opcode as unsigned LEB128. */
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
export const simd = {
  load: op.simd(0x00, 2, 0), // v128.load, align 4, offset 0
  store: op.simd(0x0b, 2, 0), // v128.store
  /** v128.load / v128.store at a constant byte offset (< 128) from the address on the stack. */
  loadAt: (offset: number) => op.simd(0x00, 2, offset),
  storeAt: (offset: number) => op.simd(0x0b, 2, offset),
  /** One f32 from memory in all four lanes. */
  load32Splat: op.simd(0x09, 2, 0),
  zero: op.simd(0x0c, ...new Array<number>(16).fill(0)), // v128.const 0
  /**
   * Relaxed SIMD: a·b + c, fused (one rounding) where the CPU has FMA. Needs the engine's relaxed
   * SIMD (Node 20: a V8 flag, see relaxedSimdEnabled).
   */
  f32x4RelaxedMadd: op.simd(0x105),
  i32x4Splat: op.simd(0x11),
  f32x4Splat: op.simd(0x13),
  i32x4ExtractLane: (lane: number) => op.simd(0x1b, lane),
  f32x4Eq: op.simd(0x41),
  bitselect: op.simd(0x52),
  f32x4Add: op.simd(0xe4),
  f32x4Sub: op.simd(0xe5),
  f32x4Mul: op.simd(0xe6),
};

/** for (v = from; v < limit; v += step) body — v and limit are locals (unsigned compare). */
export function forLoop(v: number, from: number[], limit: number, step: number[], body: number[]): number[] {
  const { get, set, i32Add, i32GeU, block, loop, end, br, brIf } = op;
  // prettier-ignore
  return [
    ...from, ...set(v),
    ...block, ...loop,
    ...get(v), ...get(limit), ...i32GeU, ...brIf(1),
    ...body,
    ...get(v), ...step, ...i32Add, ...set(v),
    ...br(0),
    ...end, ...end,
  ];
}

/** local = min(from + step, limit) (unsigned), as select(from + step, limit, from + step < limit). */
export function minInto(local: number, from: number, step: number[], limit: number): number[] {
  const { get, set, tee, i32Add } = op;
  // prettier-ignore
  return [
    ...get(from), ...step, ...i32Add, ...tee(local),
    ...get(limit), ...get(local), ...get(limit), ...op.i32LtU, ...op.select, ...set(local),
  ];
}

export interface FunctionSpec {
  params: number[];
  /** Extra locals as [count, type] runs, indexed after the parameters. */
  locals: [number, number][];
  body: number[];
}

/** A module importing `env.memory` (shared for the threaded build) and exporting `fn`. */
function assembleModule(spec: FunctionSpec, sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  // Shared memories must be imported as shared, with a maximum: 4 GiB.
  const limits = sharedMemory ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const body = [...vec(spec.locals.map(([count, type]) => [...uleb(count), type])), ...spec.body, ...op.end];
  const magicAndVersion = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  return new Uint8Array([
    ...magicAndVersion,
    ...section(1, vec([[0x60, ...vec(spec.params.map((t) => [t])), 0]])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, ...limits]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str('fn'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** Whether this engine accepts the function (e.g. its SIMD opcodes), without instantiating it. */
export function validates(spec: FunctionSpec): boolean {
  return WebAssembly.validate(assembleModule(spec, false));
}

/** The backend's WebAssembly.Memory: exported by the single-threaded build, `wasmMemory` in the threaded one. */
function heapMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  const mod = backend.wasm as unknown as {
    asm?: { memory?: unknown };
    wasmMemory?: unknown;
    HEAPU8: Uint8Array;
  };
  return [mod.asm?.memory, mod.wasmMemory].find(
    (m): m is WebAssembly.Memory => m instanceof WebAssembly.Memory && m.buffer === mod.HEAPU8.buffer,
  );
}

const instances = new WeakMap<WebAssembly.Memory, Map<string, ((...args: number[]) => void) | null>>();

/**
 * The function `name` (built by `spec`) instantiated on this backend's heap, once per memory; or
 * undefined when the memory cannot be found or the engine lacks WebAssembly SIMD: callers then run
 * their JavaScript form (tests pin that the fast form is found on this TF.js version).
 */
export function heapFunction<F extends (...args: never[]) => void>(
  backend: unknown,
  name: string,
  spec: () => FunctionSpec,
): F | undefined {
  const memory = heapMemory(backend as BackendWasm);
  if (!memory) return undefined;
  let byName = instances.get(memory);
  if (!byName) instances.set(memory, (byName = new Map()));
  let fn = byName.get(name);
  if (fn === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const module = new WebAssembly.Module(assembleModule(spec(), shared));
      fn = new WebAssembly.Instance(module, { env: { memory } }).exports.fn as (...args: number[]) => void;
    } catch {
      fn = null;
    }
    byName.set(name, fn);
  }
  return (fn ?? undefined) as F | undefined;
}
