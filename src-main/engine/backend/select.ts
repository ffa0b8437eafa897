/**
 * Run-time backend selection, once per process: `auto` tries tfjs-node-gpu → webgpu (a hardware
 * adapter only) → tfjs-node → wasm → cpu.
 *
 * - tfjs-node(-gpu) are optional dependencies (their install downloads libtensorflow, which fails
 *   offline); they are loaded by dynamic import, and `notes` records why each was passed over.
 * - SELFEMD_BACKEND replaces `auto` (an explicit choice wins over it, as `--backend` does in the CLI).
 * - wasm gets the kernels it lacks for training (registerWasmKernels) and a thread count:
 *   `threads` option, else SELFEMD_WASM_THREADS (main thread only), else 1. More than one thread loads the threaded
 *   build (wasm-threaded.ts); 'auto' times a probe step with 1 and with N threads (thread-probe.ts).
 *   The default stays 1: tests and short commands would pay the 1–3 s start of the thread pool, and
 *   on a busy 2-core machine threads rarely pay.
 * - webgpu (webgpu.ts): Dawn's device, chosen by SELFEMD_GPU / `gpu` (part of the adapter's name) and
 *   SELFEMD_GPU_POWER / `gpuPower`; an explicit `webgpu` also accepts a fallback (software) adapter.
 *   `releaseBackend()` at the end of a job frees the device so that the process can exit.
 * - `cheapHostReads` says whether tensor data lives in host memory; the engine chooses its
 *   strategies by it (capabilities.ts), never by the backend's name.
 * - Every backend gets zero gradients for comparison ops (extra-gradients.ts).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND_CHOICES, type BackendChoice } from '../../../shared/config/pretrain';
import { cheapHostReadsOf, noteSelectedBackend, poolsBuffersBySizeOf } from './capabilities';
import { registerMissingGradients } from './extra-gradients';
import { type ThreadProbe, chooseWasmThreads } from './thread-probe';
import { gemmFunction } from './kernels/gemm';
import { registerWasmKernels } from './wasm-kernels';
import {
  MAX_WASM_THREADS,
  isThreadedWasmLoaded,
  registerThreadedWasm,
  restoreStockWasm,
  setWasmPoolThreads,
  threadedLoadError,
  wasmPoolThreads,
} from './wasm-threaded';
import {
  adapterLine,
  GPU_POWER_PREFERENCES,
  gpuRequestLine,
  limitsLine,
  type GpuAdapterInfo,
  type GpuPowerPreference,
  type GpuRequest,
} from '../../../shared/dto/gpu-adapter';
import { releaseWebGpu, setupWebGpu } from './webgpu';

type Resolved = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** The resolved choice (never `auto`). */
  choice: Resolved;
  /** What was asked for, after SELFEMD_BACKEND. */
  requested: BackendChoice;
  /** TF.js backend name as registered (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  /** Version of the package that provides the kernels (tfjs-node, tfjs-backend-wasm, tfjs-backend-cpu). */
  version: string;
  /** Version of @tensorflow/tfjs (core). */
  tfjsVersion: string;
  threads: number;
  /** How `threads` was decided (requested, default, measured, or the backend's own pool). */
  threadsChosenBy: string;
  /** WebAssembly SIMD in use; null when the backend is not wasm. */
  simd: boolean | null;
  /**
   * wasm: 2-D matMuls run through the FMA GEMM (relaxed SIMD, one thread; kernels/gemm.ts) rather
   * than XNNPACK. null when the backend is not wasm.
   */
  fmaMatMul: boolean | null;
  /** Kernels this project supplies to the backend (wasm only). */
  suppliedKernels: string[];
  /**
   * Tensor data lives in host memory, so a synchronous read is a copy rather than a device round
   * trip (wasm, cpu, tfjs-node). Strategies that read to JS every step run only where this holds.
   */
  cheapHostReads: boolean;
  /**
   * The allocator keeps a buffer per size it ever allocated (webgpu): shapes that vary from step to
   * step are padded to a small fixed set there, so that a long run's device memory stays flat.
   */
  poolsBuffersBySize: boolean;
  /** webgpu: the adapter and its limits; null on other backends. */
  gpu: GpuAdapterInfo | null;
  /**
   * The adapter asked of webgpu (gpu / SELFEMD_GPU, gpuPower / SELFEMD_GPU_POWER) when webgpu was a
   * candidate (`auto` or `webgpu`), whichever backend won; null when it was not.
   */
  gpuRequest: GpuRequest | null;
  /** Why earlier candidates were passed over, for `selfemd info` and the run record. */
  notes: string[];
}

export interface InitBackendOptions {
  /** wasm threads: a count, or 'auto' to measure. Default: SELFEMD_WASM_THREADS, else 1. */
  threads?: number | 'auto';
  /** The step timed by threads 'auto' (default: a small conv block, forward and backward). */
  probe?: ThreadProbe;
  /** webgpu: part of the adapter's name (Dawn's filter, case-sensitive). Default: SELFEMD_GPU. */
  gpu?: string;
  /** webgpu: which adapter Dawn prefers. Default: SELFEMD_GPU_POWER, else high-performance. */
  gpuPower?: GpuPowerPreference;
  /** Environment to read SELFEMD_BACKEND / SELFEMD_WASM_THREADS / SELFEMD_GPU(_POWER) from (default process.env). */
  env?: Record<string, string | undefined>;
}

const NATIVE_PACKAGES = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
} as const;

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;

export async function initBackend(
  choice: BackendChoice = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  const notes: string[] = [];
  let requested = choice;
  const fromEnv = env.SELFEMD_BACKEND?.trim();
  if (fromEnv) {
    if (!(BACKEND_CHOICES as readonly string[]).includes(fromEnv)) {
      throw new Error(`SELFEMD_BACKEND: '${fromEnv}' is not one of ${BACKEND_CHOICES.join(', ')}`);
    }
    if (choice === 'auto' && fromEnv !== 'auto') {
      requested = fromEnv as BackendChoice;
      notes.push(`SELFEMD_BACKEND=${fromEnv} replaces 'auto'`);
    } else if (choice !== 'auto' && fromEnv !== choice) {
      notes.push(`SELFEMD_BACKEND=${fromEnv} ignored: '${choice}' was chosen explicitly`);
    }
  }
  const threads = resolveThreads(options.threads, env);
  const gpu = resolveGpu(options, env, requested);
  registerMissingGradients();

  const order: Resolved[] =
    requested === 'auto' ? ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'] : [requested];
  for (const candidate of order) {
    const result = await tryBackend(candidate, threads, options.probe, notes, gpu);
    if (result) {
      noteSelectedBackend(result.tfBackend, result.choice);
      current = {
        ...result,
        cheapHostReads: cheapHostReadsOf(result.choice),
        poolsBuffersBySize: poolsBuffersBySizeOf(result.choice),
        gpuRequest: order.includes('webgpu') ? { name: gpu.name ?? null, power: gpu.power } : null,
        requested,
        notes,
      };
      return current;
    }
    if (requested !== 'auto') {
      throw new Error(`Backend '${candidate}' could not be initialised: ${notes[notes.length - 1]}`);
    }
  }
  throw new Error(`No TF.js backend could be initialised (${notes.join('; ')})`);
}

export function currentBackend(): BackendInfo {
  if (!current) throw new Error('initBackend() has not been called');
  return current;
}

/**
 * Frees what the backend holds outside the JS heap (Dawn's device), so that the process can exit.
 * Call at the end of a job; a later initBackend sets the backend up again.
 */
export function releaseBackend(): void {
  releaseWebGpu();
}

/** Human-readable summary for `selfemd info`. */
export function describeBackend(info: BackendInfo = currentBackend()): string {
  const lines = [
    `backend: ${info.choice} (TF.js '${info.tfBackend}' ${info.version}, tfjs ${info.tfjsVersion})` +
      (info.requested !== info.choice ? `, requested ${info.requested}` : ''),
    ...(info.gpu ? [`GPU adapter: ${adapterLine(info.gpu)}`, `GPU limits: ${limitsLine(info.gpu)}`] : []),
    ...(info.gpuRequest ? [`GPU asked for: ${gpuRequestLine(info.gpuRequest)}`] : []),
    `threads: ${info.threads} (${info.threadsChosenBy})`,
    `SIMD: ${info.simd === null ? 'n/a' : info.simd ? 'yes' : 'no'}`,
  ];
  if (info.fmaMatMul !== null)
    lines.push(
      `FMA matMuls (relaxed SIMD): ${info.fmaMatMul ? 'yes' : info.threads > 1 ? 'no (XNNPACK, thread pool)' : 'no (the engine has no relaxed SIMD; XNNPACK)'}`,
    );
  if (info.suppliedKernels.length) lines.push(`supplied kernels: ${info.suppliedKernels.join(', ')}`);
  for (const note of info.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

function resolveThreads(
  option: number | 'auto' | undefined,
  env: Record<string, string | undefined>,
): {
  value: number | 'auto';
  source: string;
} {
  if (option !== undefined) {
    if (option !== 'auto' && !(Number.isInteger(option) && option >= 1)) {
      throw new Error(`initBackend: threads must be a positive integer or 'auto', got ${String(option)}`);
    }
    return { value: option, source: 'requested' };
  }
  const raw = env.SELFEMD_WASM_THREADS?.trim();
  // Worker threads (the data loader's) run small ops: a thread pool each would only contend.
  if (raw && !isMainThread)
    return { value: 1, source: 'default (SELFEMD_WASM_THREADS applies to the main thread)' };
  if (raw) {
    if (raw === 'auto') return { value: 'auto', source: 'SELFEMD_WASM_THREADS' };
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`SELFEMD_WASM_THREADS: '${raw}' is not a positive integer or 'auto'`);
    }
    return { value: n, source: 'SELFEMD_WASM_THREADS' };
  }
  return { value: 1, source: 'default' };
}

function resolveGpu(
  options: InitBackendOptions,
  env: Record<string, string | undefined>,
  requested: BackendChoice,
): { name?: string; power: GpuPowerPreference; allowFallback: boolean } {
  const name = options.gpu ?? (env.SELFEMD_GPU?.trim() || undefined);
  const power =
    options.gpuPower ?? ((env.SELFEMD_GPU_POWER?.trim() || 'high-performance') as GpuPowerPreference);
  if (!GPU_POWER_PREFERENCES.includes(power))
    throw new Error(
      `${options.gpuPower ? 'gpuPower' : 'SELFEMD_GPU_POWER'}: '${power}' is not one of ${GPU_POWER_PREFERENCES.join(', ')}`,
    );
  return { name, power, allowFallback: requested === 'webgpu' };
}

type Partial = Omit<
  BackendInfo,
  'requested' | 'notes' | 'cheapHostReads' | 'poolsBuffersBySize' | 'gpuRequest'
>;

async function tryBackend(
  candidate: Resolved,
  threads: { value: number | 'auto'; source: string },
  probe: ThreadProbe | undefined,
  notes: string[],
  gpu: ReturnType<typeof resolveGpu>,
): Promise<Partial | undefined> {
  switch (candidate) {
    case 'webgpu':
      return tryWebGpu(gpu, notes);
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return tryNative(candidate, notes);
    case 'wasm':
      return tryWasm(threads, probe, notes);
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) {
        notes.push('cpu: could not be initialised');
        return undefined;
      }
      return {
        choice: 'cpu',
        tfBackend: tf.getBackend(),
        version: tf.version['tfjs-backend-cpu'] ?? tf.version.tfjs,
        tfjsVersion: tf.version.tfjs,
        threads: 1,
        threadsChosenBy: 'the cpu backend is plain JavaScript on one thread',
        simd: null,
        fmaMatMul: null,
        suppliedKernels: [],
        gpu: null,
      };
  }
}

async function tryWebGpu(gpu: ReturnType<typeof resolveGpu>, notes: string[]): Promise<Partial | undefined> {
  // dawn.node's external ArrayBuffers are forbidden by Electron's V8 memory cage: loading it in an
  // Electron process (utilityProcess included) would abort the process, not throw. Pass it over by name.
  if (process.versions.electron) {
    // The desktop app says here why it could not give this job its plain-Node GPU host (app/gpu-host.ts).
    const host = process.env.SELFEMD_GPU_HOST_NOTE?.trim();
    notes.push(
      `webgpu: not available inside Electron ${process.versions.electron} processes (dawn.node needs plain Node; docs/architecture.md)${host ? `: ${host}` : ''}`,
    );
    return undefined;
  }
  let adapter: GpuAdapterInfo | undefined;
  try {
    adapter = await setupWebGpu(
      { allowFallback: gpu.allowFallback, adapterName: gpu.name, powerPreference: gpu.power },
      notes,
    );
  } catch (e) {
    notes.push(`webgpu: ${firstLine(e)}`);
    return undefined;
  }
  if (!adapter) return undefined;
  return {
    choice: 'webgpu',
    tfBackend: tf.getBackend(),
    version: (require('@tensorflow/tfjs-backend-webgpu/package.json') as { version: string }).version,
    tfjsVersion: tf.version.tfjs,
    threads: 1,
    threadsChosenBy: 'the GPU runs the kernels; JavaScript drives it from one thread',
    simd: null,
    fmaMatMul: null,
    suppliedKernels: [],
    gpu: adapter,
  };
}

async function tryNative(
  candidate: 'tfjs-node-gpu' | 'tfjs-node',
  notes: string[],
): Promise<Partial | undefined> {
  const pkg = NATIVE_PACKAGES[candidate];
  try {
    require.resolve(pkg);
  } catch {
    notes.push(`${pkg}: not installed`);
    return undefined;
  }
  let mod: { version?: Record<string, string> };
  try {
    // A variable specifier: bundlers and tsc must not try to resolve an optional package.
    const specifier: string = pkg;
    mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
  } catch (e) {
    // e.g. libcudart.so.11.0 missing for tfjs-node-gpu on CUDA 12, or no N-API binary for this Node.
    notes.push(`${pkg}: installed but failed to load: ${firstLine(e)}`);
    return undefined;
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) throw new Error("backend 'tensorflow' did not initialise");
  } catch (e) {
    notes.push(`${pkg}: loaded but ${firstLine(e)} (a second copy of @tensorflow/tfjs-core?)`);
    return undefined;
  }
  return {
    choice: candidate,
    tfBackend: tf.getBackend(),
    version: mod.version?.['tfjs-node'] ?? tf.version.tfjs,
    tfjsVersion: tf.version.tfjs,
    threads: os.availableParallelism(),
    threadsChosenBy: "TensorFlow's own intra-op pool (one thread per logical core by default)",
    simd: null,
    fmaMatMul: null,
    suppliedKernels: [],
    gpu: null,
  };
}

async function tryWasm(
  threads: { value: number | 'auto'; source: string },
  probe: ThreadProbe | undefined,
  notes: string[],
): Promise<Partial | undefined> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const cores = os.availableParallelism();
  // Threads wanted at most: the pool size to build (auto: every core, up to the compiled limit).
  let want = threads.value === 'auto' ? Math.min(cores, MAX_WASM_THREADS) : threads.value;
  let threadsChosenBy = threads.source;
  if (want > MAX_WASM_THREADS) {
    notes.push(`wasm: ${want} threads requested, the wasm build allows ${MAX_WASM_THREADS}`);
    want = MAX_WASM_THREADS;
  }
  if (want > 1 && !simd) {
    notes.push('wasm: no WebAssembly SIMD, so no threaded build: 1 thread');
    want = 1;
  }
  if (want > 1 && typeof SharedArrayBuffer === 'undefined') {
    notes.push('wasm: no SharedArrayBuffer, so no threaded build: 1 thread');
    want = 1;
  }
  if (threads.value === 'auto' && want === 1 && cores === 1) threadsChosenBy = 'auto: one logical core';

  // engine().registry, not tf.findBackend: findBackend would start initialising the stock build.
  const already = 'wasm' in tf.engine().registry;
  if (already) {
    threadsChosenBy = 'the wasm backend was already initialised in this process';
    if (want > 1 && !isThreadedWasmLoaded()) {
      notes.push('wasm: already initialised single-threaded in this process; threads unchanged');
    }
  } else if (want > 1) {
    const stock = registerThreadedWasm(want, threads.value === 'auto' ? 1 : want);
    if (!(await setBackendQuietly('wasm'))) {
      notes.push(`wasm: threaded build failed to load (${threadedLoadError()}); 1 thread`);
      restoreStockWasm(stock);
      want = 1;
      threadsChosenBy = 'fallback';
    }
  }
  if (tf.getBackend() !== 'wasm' && !(await setBackendQuietly('wasm'))) {
    notes.push('wasm: could not be initialised');
    return undefined;
  }
  const suppliedKernels = registerWasmKernels();
  let count = isThreadedWasmLoaded() ? wasmPoolThreads() : 1;
  if (threads.value === 'auto' && isThreadedWasmLoaded() && want > 1 && !already) {
    const choice = chooseWasmThreads(want, probe);
    count = choice.threads;
    threadsChosenBy = threads.source === 'requested' ? choice.how : `${threads.source}=${choice.how}`;
  } else if (already && isThreadedWasmLoaded() && typeof threads.value === 'number') {
    // The threaded build can re-size its pool (up to the size it was loaded for).
    count = setWasmPoolThreads(threads.value);
    threadsChosenBy = `${threads.source}, pool re-sized`;
  }
  if (typeof threads.value === 'number' && count !== threads.value) {
    notes.push(`wasm: ${threads.value} threads requested, the pool has ${count}`);
  }
  return {
    choice: 'wasm',
    tfBackend: tf.getBackend(),
    version: version_wasm,
    tfjsVersion: tf.version.tfjs,
    threads: count,
    threadsChosenBy,
    simd,
    fmaMatMul: count === 1 && gemmFunction(tf.backend()) !== undefined,
    suppliedKernels,
    gpu: null,
  };
}

/** tf.setBackend logs a warning and returns false when the factory throws; keep the boolean only. */
async function setBackendQuietly(name: string): Promise<boolean> {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  } finally {
    console.warn = warn;
  }
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 200);
}
