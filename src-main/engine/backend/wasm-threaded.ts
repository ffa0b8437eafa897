/**
 * Multi-threaded wasm backend under Node.
 *
 * The stock loader of @tensorflow/tfjs-backend-wasm never uses threads in Node: its
 * WASM_HAS_MULTITHREAD_SUPPORT flag returns false there (tfjs issue 3830), and it hands Emscripten
 * the pthread worker script as a blob: URL, which Node's worker_threads cannot start. So this module
 * loads the threaded-SIMD build itself:
 *  - the worker script (shipped as a string in wasm-out/…worker.js) is written to a file on disk,
 *    and the main script is given as the path of wasm-out/tfjs-backend-wasm-threaded-simd.js
 *    (the worker evaluates it with importScripts → fs.readFileSync);
 *  - the XNNPACK pool size is capped in C++ at emscripten_num_logical_cores() / 2, which Node
 *    answers with os.cpus().length: on a 2-core machine that caps the pool at 1 thread. os.cpus is
 *    padded while the module initialises (the cap is a C++ static initialiser, read once), so the
 *    pool may use as many threads as requested;
 *  - the pool's workers are unref()'d so they never keep the process alive.
 * The backend object is the package's own BackendWasm, registered under the name 'wasm', so every
 * stock kernel (and every kernel supplied in wasm-kernels.ts) applies unchanged.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** XNNPACK pool limit compiled into tfjs-backend-wasm (it pre-creates 8 pthread workers). */
export const MAX_WASM_THREADS = 8;

interface NodeWorkerLike {
  unref(): void;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { runningWorkers: NodeWorkerLike[]; unusedWorkers: NodeWorkerLike[] };
  tfjs?: Record<string, (...a: number[]) => number>;
}

let loaded: EmscriptenModule | undefined;
let lastError: unknown;

function wasmOutFile(name: string): string {
  const file = require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${name}`);
  // Packaged app: pthread workers read these files with plain fs, so prefer the unpacked copy
  // (electron-builder asarUnpack) when there is one.
  const unpacked = file.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
  return unpacked !== file && fs.existsSync(unpacked) ? unpacked : file;
}

/** Writes the pthread worker script to the temp folder once per content (atomic rename). */
function workerScriptFile(): string {
  const { wasmWorkerContents } = require(wasmOutFile('tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The string carries literal newlines inside JS string literals; tfjs escapes them the same way.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const file = path.join(os.tmpdir(), `selfemd-tfjs-wasm-${hash}.worker.cjs`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

function unrefWorkers(mod: EmscriptenModule): void {
  for (const w of [...(mod.PThread?.runningWorkers ?? []), ...(mod.PThread?.unusedWorkers ?? [])]) w.unref();
}

async function createThreadedBackend(maxThreads: number, initialThreads: number): Promise<BackendWasm> {
  try {
    const mainScript = wasmOutFile('tfjs-backend-wasm-threaded-simd.js');
    const binary = wasmOutFile('tfjs-backend-wasm-threaded-simd.wasm');
    const worker = workerScriptFile();
    const factory = require(mainScript) as (config: object) => Promise<EmscriptenModule>;
    // `os` via require: the same object Emscripten's require('os') sees, and assignable.
    const nodeOs = require('node:os') as { cpus: () => unknown[] };
    const realCpus = nodeOs.cpus;
    nodeOs.cpus = () => {
      const cpus = realCpus.call(nodeOs);
      while (cpus.length < 2 * maxThreads) cpus.push(cpus[0]);
      return cpus;
    };
    let mod: EmscriptenModule;
    try {
      mod = await factory({
        locateFile: (file: string) =>
          file.endsWith('.worker.js') ? worker : file.endsWith('.wasm') ? binary : file,
        mainScriptUrlOrBlob: mainScript,
      });
    } finally {
      nodeOs.cpus = realCpus;
    }
    mod.tfjs = {
      init: mod.cwrap('init', null, []),
      initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
      registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: mod.cwrap('dispose_data', null, ['number']),
      dispose: mod.cwrap('dispose', null, []),
    };
    setThreadsCount(initialThreads);
    const backend = new BackendWasm(mod as unknown as ConstructorParameters<typeof BackendWasm>[0]);
    unrefWorkers(mod);
    loaded = mod;
    return backend;
  } catch (e) {
    lastError = e;
    throw e;
  }
}

/**
 * Replaces the registered 'wasm' backend factory by the threaded loader (nothing is loaded until
 * tf.setBackend('wasm')). The pool starts with `initialThreads` and may later grow to `maxThreads`
 * (setWasmPoolThreads). Returns the stock factory so a failed load can fall back to it.
 */
export function registerThreadedWasm(
  maxThreads: number,
  initialThreads = maxThreads,
): () => tf.KernelBackend | Promise<tf.KernelBackend> {
  const stock = tf.findBackendFactory('wasm');
  if (!stock) throw new Error('the wasm backend is not registered (import @tensorflow/tfjs-backend-wasm)');
  const max = clampThreads(maxThreads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    () => createThreadedBackend(max, Math.min(clampThreads(initialThreads), max)),
    2,
  );
  return stock;
}

function clampThreads(n: number): number {
  return Math.min(Math.max(1, Math.floor(n)), MAX_WASM_THREADS);
}

/** Puts the stock single-threaded loader back (after a failed threaded load). */
export function restoreStockWasm(stock: () => tf.KernelBackend | Promise<tf.KernelBackend>): void {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', stock, 2);
}

/** Why the last threaded load failed, as one line. */
export function threadedLoadError(): string {
  const e = lastError as { message?: unknown } | undefined;
  const text = e && typeof e.message === 'string' ? e.message : String(e);
  return text.split('\n')[0];
}

/** Whether the running wasm backend is the threaded build loaded here. */
export function isThreadedWasmLoaded(): boolean {
  return loaded !== undefined;
}

/** Threads of the running XNNPACK pool, or 1 when the threaded build is not loaded. */
export function wasmPoolThreads(): number {
  return loaded?.tfjs ? loaded.tfjs.getThreadsCount() : 1;
}

/**
 * Re-creates the XNNPACK pool with `threads` threads (the C++ init keeps no reference to the old
 * pool; its idle workers stay parked, unref'd). Kernels pass the current pool to every XNNPACK
 * call, so the change applies from the next op. Returns the pool's thread count.
 */
export function setWasmPoolThreads(threads: number): number {
  if (!loaded?.tfjs) throw new Error('the threaded wasm build is not loaded');
  loaded.tfjs.initWithThreadsCount(clampThreads(threads));
  unrefWorkers(loaded);
  return loaded.tfjs.getThreadsCount();
}
