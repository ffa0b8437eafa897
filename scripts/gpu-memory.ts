/**
 * Measures a training run's memory step by step on the chosen backend (default webgpu): live
 * tensors and, on webgpu, the buffer manager's bytes in use and allocated (the pool never frees,
 * so growth there is memory the run never gets back).
 *
 *   npx tsx scripts/gpu-memory.ts --task faster-rcnn --steps 12 [--backend webgpu] [--sizes 40,64]
 *   npx tsx scripts/gpu-memory.ts --task pretrain --steps 8
 *
 * Tiny models (ResNet-18 at width 4, 64 px demo scenes): on SwiftShader this is a correctness and
 * memory check, never a speed figure. Prints one line per step.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveFinetuneConfig } from '../shared/config/finetune';
import { BACKEND_CHOICES, type BackendChoice } from '../shared/config/pretrain';
import { mergeDefaults } from '../shared/config/validation';
import { deviceMemory } from '../src-main/engine/backend/device-memory';
import { initBackend, releaseBackend } from '../src-main/engine/backend/select';
import { generateDemoScenes } from '../src-main/engine/data/demo-scenes';
import { loadPretrainImages } from '../src-main/engine/data/pretrain-data';
import { runFinetune } from '../src-main/engine/detection/finetune';
import { detectionDatasetFromCoco } from '../src-main/engine/detection/inputs';
import { runPretraining } from '../src-main/engine/train/pretrain';
import type { TrainingHooks } from '../src-main/engine/train/training-hooks';
import { TINY_DETECTOR } from '../test/engine/detection/tiny-detector';
import { tinyConfig } from '../test/engine/train/tiny-config';

const { values } = parseArgs({
  options: {
    task: { type: 'string', default: 'faster-rcnn' },
    steps: { type: 'string', default: '12' },
    backend: { type: 'string', default: 'webgpu' },
    sizes: { type: 'string', default: '40,64' },
  },
});
const task = values.task!;
const steps = Number(values.steps);
if (!['faster-rcnn', 'retinanet', 'pretrain'].includes(task))
  throw new Error(`--task: '${task}' is not faster-rcnn, retinanet or pretrain`);
if (!Number.isInteger(steps) || steps < 2)
  throw new Error(`--steps: '${values.steps}' is not a whole number ≥ 2`);
if (!(BACKEND_CHOICES as readonly string[]).includes(values.backend!))
  throw new Error(`--backend: '${values.backend}' is not one of ${BACKEND_CHOICES.join(', ')}`);
const sizes = values.sizes!.split(',').map(Number) as [number, number];
if (sizes.length !== 2 || !sizes.every((s) => Number.isInteger(s) && s >= 32))
  throw new Error(`--sizes: '${values.sizes}' is not two whole sizes ≥ 32 (min,max short side)`);

const info = await initBackend(values.backend as BackendChoice, { env: {} });
console.log(
  `backend ${info.choice}${info.gpu ? ` (${info.gpu.vendor} ${info.gpu.architecture})` : ''}, ` +
    `pools buffers by size: ${info.poolsBuffersBySize}`,
);
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-gpumem-'));
const t0 = performance.now();
const hooks: TrainingHooks = {
  onProgress: (p) => {
    const m = deviceMemory();
    const mb = (b: number | undefined) => (b === undefined ? '—' : (b / 2 ** 20).toFixed(3));
    console.log(
      `step ${p.step}: tensors ${m.numTensors}, GPU in use ${mb(m.gpuBytesInUse)} MB, ` +
        `allocated ${mb(m.gpuBytesAllocated)} MB (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  },
};
try {
  if (task === 'pretrain') {
    const config = tinyConfig({
      method: 'self-emd',
      emd: { spc: true, scaleView: true },
      optim: { epochs: steps / 2 },
      checkpoint: { everySteps: 1000 },
    });
    const { images } = await loadPretrainImages(config.data);
    await runPretraining({ config, images, runDir, hooks, prefetch: 'none' });
  } else {
    const scenes = generateDemoScenes({ count: 4, size: 64, seed: 11, stream: 'gpu-memory' });
    const train = detectionDatasetFromCoco(scenes.images, scenes.coco);
    const config = resolveFinetuneConfig(
      mergeDefaults(
        {
          detector: task,
          ...TINY_DETECTOR,
          data: { minSizeTrain: sizes, maxSizeTrain: 96, hflip: true },
          optim: { epochs: steps / 2, batchSize: 2, lr: 0.01, warmupFraction: 0.25, decayAt: [0.5] },
          checkpoint: { everySteps: 1000 },
        },
        {},
      ),
    );
    await runFinetune({ config, train, runDir, hooks });
  }
} finally {
  fs.rmSync(runDir, { recursive: true, force: true });
  releaseBackend();
}
