/**
 * Worker-thread side of the pretraining loader's prefetch: renders view batches from images and
 * already-sampled params (all randomness stays in the main thread's Rng, so prefetching never
 * changes what is produced) and sends the pixels back as transferable Float32Arrays.
 * Started by loader.ts; has its own TF.js backend instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../../shared/config/pretrain';
import { initBackend } from '../backend/select';
import { type AugmentImpl, type ViewParams, applyViewParams } from './augment';
import type { RawImage } from './raw-image';

export interface AugmentRequest {
  id: number;
  images: RawImage[];
  jobs: { size: number; params: ViewParams[] }[];
  impl: AugmentImpl | 'auto';
}

export type AugmentResponse =
  | { id: number; views: { pixels: Float32Array; shape: [number, number, number, number] }[] }
  | { id: number; error: string };

if (!parentPort) throw new Error('loader-worker.ts must run as a worker thread');
const port = parentPort;
const backend = ((workerData as { backend?: BackendChoice } | undefined)?.backend ?? 'wasm') as BackendChoice;
await initBackend(backend);

// The loader sends one request at a time, so an asynchronous handler never overlaps another.
port.on('message', (req: AugmentRequest) => void render(req));

async function render(req: AugmentRequest): Promise<void> {
  try {
    const views: { pixels: Float32Array; shape: [number, number, number, number] }[] = [];
    for (const job of req.jobs) {
      const t = applyViewParams(req.images, job.params, job.size, { impl: req.impl });
      try {
        // Read without blocking: the worker's backend may be a device one (webgpu), where a
        // synchronous read throws; on wasm (the default) this is the same copy.
        views.push({ pixels: new Float32Array(await t.data()), shape: t.shape });
      } finally {
        t.dispose();
      }
    }
    const res: AugmentResponse = { id: req.id, views };
    port.postMessage(
      res,
      views.map((v) => v.pixels.buffer as ArrayBuffer),
    );
  } catch (err) {
    const res: AugmentResponse = { id: req.id, error: (err as Error).stack ?? String(err) };
    port.postMessage(res);
  }
}
port.postMessage({ ready: true, backend });
