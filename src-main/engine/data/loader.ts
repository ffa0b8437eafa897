/**
 * The pretraining data loader: an endless stream of batches over epochs, each image seen once per
 * epoch in a seeded shuffled order, each batch rendered into one augmented view batch per
 * ViewSpec (view 1, view 2 and optionally the small scale view).
 *
 * Reproducibility and resume: the epoch order comes from a fixed "shuffle" stream
 * (fork per epoch), the augmentation parameters from an "augment" stream advanced batch by batch.
 * getState() captures both plus the position *after the last batch handed out* — so
 * a run resumed with setState() produces bit-for-bit the batches the original run would have
 * produced next (on the same backend and implementation), whether or not prefetching was on.
 *
 * Prefetch (`prefetch: 'worker'`): while the caller trains on batch k, batch k+1 is rendered in a
 * worker thread with its own TF.js backend. Parameters are still sampled here, in order, so the
 * worker only executes them; the results equal the in-process ones (same backend and impl).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice } from '../../../shared/config/pretrain';
import {
  type AugmentImpl,
  type ViewBatch,
  type ViewParams,
  type ViewSpec,
  applyViewParams,
  sampleViewBatchParams,
} from './augment';
import type { AugmentRequest, AugmentResponse } from './loader-worker';
import type { RawImage } from './raw-image';
import { Rng, type RngState } from './rng';

export interface LoaderState {
  /** 0-based epoch of the next batch. */
  epoch: number;
  /** Index of the next batch within that epoch. */
  position: number;
  shuffle: RngState;
  augment: RngState;
  /** Recorded so a resume against a different dataset or batch size fails loudly. */
  imageCount: number;
  batchSize: number;
}

export interface PretrainBatch {
  epoch: number;
  /** Batch index within the epoch. */
  step: number;
  /** epoch × batchesPerEpoch + step. */
  globalStep: number;
  /** True for the final batch of its epoch. */
  lastInEpoch: boolean;
  /** Indices into the loader's images, and their ids. */
  indices: number[];
  ids: string[];
  /** One per ViewSpec, in order. The caller disposes them (or calls dispose()). */
  views: ViewBatch[];
  /** Loader state to save with a checkpoint taken after training on this batch. */
  stateAfter: LoaderState;
  dispose(): void;
}

export interface PretrainLoaderOptions {
  images: readonly RawImage[];
  batchSize: number;
  /** The loader forks its own `shuffle` and `augment` streams from it (without advancing it). */
  rng: Rng;
  viewSpecs: readonly ViewSpec[];
  /** Drop the last incomplete batch of each epoch (default true, as BYOL: BN needs full batches). */
  dropLast?: boolean;
  /** `worker` renders batch k+1 in a worker thread while batch k trains. Default `none`. */
  prefetch?: 'none' | 'worker';
  /** TF.js backend of the prefetch worker (default `wasm`). */
  workerBackend?: Exclude<BackendChoice, 'auto'>;
  /** Colour-stage implementation (see augment.ts); default `auto` for the rendering backend. */
  impl?: AugmentImpl | 'auto';
}

export interface PretrainLoader extends AsyncIterable<PretrainBatch> {
  readonly batchesPerEpoch: number;
  readonly imageCount: number;
  /** The next batch (the stream never ends; stop after as many steps as the schedule needs). */
  next(): Promise<PretrainBatch>;
  /** State after the last batch returned by next() (or the initial state). */
  getState(): LoaderState;
  /** Continue from a saved state; discards any prefetched batch. */
  setState(state: LoaderState): void;
  /** Stops the prefetch worker. Safe to call more than once. */
  close(): Promise<void>;
}

interface Planned {
  epoch: number;
  step: number;
  indices: number[];
  params: ViewParams[][];
  stateAfter: LoaderState;
}

/** What a batch needs rendered, as sent to the worker or run in-process. */
function renderInProcess(
  images: readonly RawImage[],
  plan: Planned,
  specs: readonly ViewSpec[],
  impl: AugmentImpl | 'auto',
): ViewBatch[] {
  const batchImages = plan.indices.map((i) => images[i]!);
  return specs.map((spec, v) =>
    toViewBatch(plan.params[v]!, applyViewParams(batchImages, plan.params[v]!, spec.size, { impl })),
  );
}

function toViewBatch(params: ViewParams[], pixels: tf.Tensor4D): ViewBatch {
  return { pixels, boxes: params.map((p) => [...p.crop.box]), flipped: params.map((p) => p.flip), params };
}

let workerEntry: string | undefined;

/**
 * Where the prefetch worker's code is: a bundle says so before any loader starts (scripts/build-app.mjs
 * ships loader-worker.mjs beside the engine worker and sets it in that bundle's entry), because a path
 * computed here from this module's own location is invisible to the bundler and wrong once bundled.
 */
export function setLoaderWorkerEntry(file: string): void {
  workerEntry = file;
}

/**
 * Starts loader-worker in a thread: the entry a bundle set, or, from the TypeScript sources (tests,
 * tsx-run jobs), loader-worker.ts through tsx's ESM hooks, which the worker registers first because
 * Node 20 workers do not inherit the parent's loader hooks.
 */
function spawnWorker(backend: string): Worker {
  const workerData = { backend };
  if (workerEntry) {
    if (!fs.existsSync(workerEntry))
      throw new Error(`Prefetch worker ${workerEntry} is missing: rebuild the app (npm run build:app)`);
    return new Worker(pathToFileURL(workerEntry), { workerData });
  }
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    throw new Error('Prefetch worker: this bundle did not set its entry (setLoaderWorkerEntry)');
  const target = new URL('./loader-worker.ts', here).href;
  const tsxDir = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(code, { eval: true, workerData });
}

class AugmentWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (r: AugmentResponse) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;

  constructor(backend: string) {
    this.worker = spawnWorker(backend);
    this.worker.unref();
    this.worker.on('message', (msg: AugmentResponse | { ready: true }) => {
      if ('ready' in msg) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      p.resolve(msg);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(new Error(`Augmentation worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`Augmentation worker exited unexpectedly (code ${code})`));
    });
  }

  request(
    images: RawImage[],
    jobs: AugmentRequest['jobs'],
    impl: AugmentImpl | 'auto',
  ): Promise<AugmentResponse> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('Augmentation worker closed'));
    const id = this.nextId++;
    const req: AugmentRequest = { id, images, jobs, impl };
    // Keep the process alive only while a request is in flight.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('Augmentation worker closed'));
    this.pending.clear();
    await this.worker.terminate();
  }
}

export function createPretrainLoader(options: PretrainLoaderOptions): PretrainLoader {
  const { images, batchSize, viewSpecs } = options;
  const dropLast = options.dropLast ?? true;
  const impl = options.impl ?? 'auto';
  const n = images.length;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`Pretrain loader: batchSize must be a positive integer, got ${batchSize}`);
  if (viewSpecs.length === 0) throw new Error('Pretrain loader: viewSpecs is empty');
  const batchesPerEpoch = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  if (batchesPerEpoch === 0)
    throw new Error(
      `Pretrain loader: ${n} images cannot fill one batch of ${batchSize} (lower optim.batchSize or add images)`,
    );

  const shuffleBase = options.rng.fork('loader-shuffle');
  let augment = options.rng.fork('loader-augment');
  let epoch = 0;
  let position = 0;
  const orderCache = new Map<number, number[]>();
  const epochOrder = (e: number): number[] => {
    let order = orderCache.get(e);
    if (!order) {
      order = shuffleBase.fork(`epoch-${e}`).permutation(n);
      orderCache.clear(); // only the current epoch (and at most the next) are ever needed
      orderCache.set(e, order);
    }
    return order;
  };
  const stateNow = (): LoaderState => ({
    epoch,
    position,
    shuffle: shuffleBase.getState(),
    augment: augment.getState(),
    imageCount: n,
    batchSize,
  });
  let delivered = stateNow();

  /** Samples the next batch's params and advances the planning cursor. */
  const plan = (): Planned => {
    const order = epochOrder(epoch);
    const start = position * batchSize;
    const indices = order.slice(start, Math.min(start + batchSize, n));
    const batchImages = indices.map((i) => images[i]!);
    const params = viewSpecs.map((spec) => sampleViewBatchParams(batchImages, augment, spec));
    const planned = { epoch, step: position, indices, params } as Omit<Planned, 'stateAfter'>;
    position++;
    if (position >= batchesPerEpoch) {
      position = 0;
      epoch++;
    }
    return { ...planned, stateAfter: stateNow() };
  };

  const worker =
    options.prefetch === 'worker' ? new AugmentWorker(options.workerBackend ?? 'wasm') : undefined;
  let inFlight: { plan: Planned; result: Promise<AugmentResponse> } | undefined;
  const dispatch = (): void => {
    if (!worker) return;
    const p = plan();
    const result = worker.request(
      p.indices.map((i) => images[i]!),
      viewSpecs.map((spec, v) => ({ size: spec.size, params: p.params[v]! })),
      impl,
    );
    result.catch(() => undefined); // observed when awaited; avoid an unhandled rejection meanwhile
    inFlight = { plan: p, result };
  };

  const finish = (p: Planned, views: ViewBatch[]): PretrainBatch => {
    delivered = p.stateAfter;
    return {
      epoch: p.epoch,
      step: p.step,
      globalStep: p.epoch * batchesPerEpoch + p.step,
      lastInEpoch: p.step === batchesPerEpoch - 1,
      indices: p.indices,
      ids: p.indices.map((i) => images[i]!.id),
      views,
      stateAfter: p.stateAfter,
      dispose: () => views.forEach((v) => v.pixels.dispose()),
    };
  };

  const next = async (): Promise<PretrainBatch> => {
    if (!worker) {
      const p = plan();
      return finish(p, renderInProcess(images, p, viewSpecs, impl));
    }
    if (!inFlight) dispatch();
    const current = inFlight!;
    inFlight = undefined;
    const res = await current.result;
    dispatch(); // start rendering the following batch before handing this one out
    if ('error' in res) throw new Error(`Augmentation worker: ${res.error}`);
    const views = res.views.map((v, i) =>
      toViewBatch(current.plan.params[i]!, tf.tensor4d(v.pixels, v.shape)),
    );
    return finish(current.plan, views);
  };

  return {
    batchesPerEpoch,
    imageCount: n,
    next,
    getState: () => structuredClone(delivered),
    setState(state: LoaderState) {
      if (state.imageCount !== n || state.batchSize !== batchSize)
        throw new Error(
          `Pretrain loader: saved state is for ${state.imageCount} images in batches of ${state.batchSize}, ` +
            `this loader has ${n} images in batches of ${batchSize}`,
        );
      if (
        !Number.isInteger(state.epoch) ||
        state.epoch < 0 ||
        !Number.isInteger(state.position) ||
        state.position < 0 ||
        state.position >= batchesPerEpoch
      )
        throw new Error(
          `Pretrain loader: invalid saved position epoch ${state.epoch}, batch ${state.position}`,
        );
      shuffleBase.setState(state.shuffle);
      orderCache.clear();
      augment = new Rng(state.augment);
      epoch = state.epoch;
      position = state.position;
      inFlight = undefined; // its result, if it arrives, is ignored
      delivered = stateNow();
    },
    close: async () => {
      inFlight = undefined;
      await worker?.close();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) yield await next();
    },
  };
}
