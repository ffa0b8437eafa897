/**
 * Worker-thread side of the pretraining loader's prefetch: renders view batches from images and
 * already-sampled params (all randomness stays in the main thread's Rng, so prefetching never
 * changes what is produced) and sends the pixels back as transferable Float32Arrays.
 * Started by loader.ts; has its own TF.js backend instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../../shared/config/pretrain';
import { readHostSync } from '../backend/host-read';
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

const port = parentPort;
if (!port) throw new Error('loader-worker.ts must run as a worker thread');
const backend = ((workerData as { backend?: BackendChoice } | undefined)?.backend ?? 'wasm') as BackendChoice;
await initBackend(backend);

port.on('message', (req: AugmentRequest) => {
  try {
    const views = req.jobs.map((job) => {
      const t = applyViewParams(req.images, job.params, job.size, { impl: req.impl });
      // The worker's backend is a host one (wasm by default): a synchronous read is a copy.
      const pixels = new Float32Array(readHostSync(t));
      const shape = t.shape;
      t.dispose();
      return { pixels, shape };
    });
    const res: AugmentResponse = { id: req.id, views };
    port.postMessage(
      res,
      views.map((v) => v.pixels.buffer as ArrayBuffer),
    );
  } catch (err) {
    const res: AugmentResponse = { id: req.id, error: (err as Error).stack ?? String(err) };
    port.postMessage(res);
  }
});
port.postMessage({ ready: true, backend });
