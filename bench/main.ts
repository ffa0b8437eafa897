/**
 * `npm run bench [-- --backbone resnet18 --width 32 --batch 16 --size 96 --steps 6 --warmup 2
 *   --backend auto --soak 0 --json]`
 * Times, in one run on this machine: the supervised-style step, BYOL and the Self-EMD variants
 * (ratios to BYOL), Sinkhorn EMD alone, the data pipeline, memory per step, and the same backbone's
 * step in PyTorch CPU where `import torch` works. Prints a table, or JSON with --json.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { cpuDemoOverrides, resolvePretrainConfig, type BackboneName, type BackendChoice } from '../shared/config/pretrain';
import { mergeDefaults } from '../shared/config/validation';
import { initBackend } from '../src-main/engine/backend/select';
import { generateDemoScenes } from '../src-main/engine/data/demo-scenes';
import { createPretrainLoader } from '../src-main/engine/data/loader';
import { cacheShortSide, pretrainViewSpecs } from '../src-main/engine/data/pretrain-data';
import { createRng } from '../src-main/engine/data/rng';
import { runPretraining } from '../src-main/engine/train/pretrain';
import { timeSinkhornEmd } from './sinkhorn-step';
import { timeSupervisedStep } from './supervised-step';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    backbone: { type: 'string', default: 'resnet18' },
    width: { type: 'string', default: '32' },
    batch: { type: 'string', default: '16' },
    size: { type: 'string', default: '96' },
    steps: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'auto' },
    soak: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const opt = {
  backbone: a.backbone as BackboneName,
  width: Number(a.width),
  batch: Number(a.batch),
  size: Number(a.size),
  steps: Number(a.steps),
  warmup: Number(a.warmup),
  soak: Number(a.soak),
};
const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const log = (m: string) => {
  if (!a.json) process.stderr.write(`${m}\n`);
};

const backend = await initBackend(a.backend as BackendChoice);
log(`backend ${backend.choice} (TF.js ${backend.version}, ${backend.threads} thread(s)); ${os.cpus().length} cores, ${os.cpus()[0]?.model}`);

function sslConfig(variant: 'byol' | 'self-emd' | 'self-emd+spc' | 'self-emd+spc+scale', totalSteps: number, imageCount: number) {
  const perEpoch = Math.floor(imageCount / opt.batch);
  return resolvePretrainConfig(
    mergeDefaults(cpuDemoOverrides(), {
      method: variant === 'byol' ? 'byol' : 'self-emd',
      backbone: { name: opt.backbone, baseWidth: opt.width },
      data: { imageSize: opt.size },
      optim: { batchSize: opt.batch, epochs: totalSteps / perEpoch, warmupEpochs: 0 },
      emd: {
        spc: variant !== 'self-emd',
        scaleView: variant === 'self-emd+spc+scale',
        // Half the large view, as the paper's 112 px next to 224 px.
        scaleViewSize: Math.max(32, Math.round(opt.size / 2 / 16) * 16),
      },
      checkpoint: { everySteps: 1_000_000 },
    }),
  );
}

const images = generateDemoScenes({
  count: opt.batch * 8,
  size: cacheShortSide({ imageSize: opt.size, cacheScale: 1.25 }),
  seed: 0,
}).images;

interface VariantResult {
  stepMs: number;
  dataWaitMs: number;
  tensors: number[];
  rssMb: number[];
}

async function timeVariant(variant: Parameters<typeof sslConfig>[0], steps: number): Promise<VariantResult> {
  const config = sslConfig(variant, steps, images.length);
  const stepMs: number[] = [];
  const wait: number[] = [];
  const tensors: number[] = [];
  const rss: number[] = [];
  await runPretraining({
    config,
    images,
    runDir: path.join(os.tmpdir(), `selfemd-bench-${process.pid}-${variant}`),
    keepCheckpoints: 1,
    hooks: {
      onMetrics: (points) => {
        const step = points[0].step;
        if (step <= opt.warmup) return;
        for (const p of points) {
          if (p.key === 'perf/step_ms') stepMs.push(p.value);
          if (p.key === 'perf/data_wait_ms') wait.push(p.value);
        }
        tensors.push(tf.memory().numTensors);
        rss.push(process.memoryUsage().rss / 2 ** 20);
      },
    },
  });
  return { stepMs: median(stepMs), dataWaitMs: median(wait), tensors, rssMb: rss };
}

const total = opt.warmup + opt.steps;
log(`supervised-style step …`);
const supervised = median(await timeSupervisedStep({ ...opt, steps: opt.steps }));
const variants = ['byol', 'self-emd', 'self-emd+spc', 'self-emd+spc+scale'] as const;
const results = {} as Record<(typeof variants)[number], VariantResult>;
for (const v of variants) {
  log(`${v} …`);
  results[v] = await timeVariant(v, total);
}

log('Sinkhorn EMD alone …');
const sinkhornMs = median(await timeSinkhornEmd({ pairs: 64, grid: 7, channels: 256, iterations: 10, repeats: 5 }));

log('data pipeline …');
const loader = createPretrainLoader({
  images,
  batchSize: opt.batch,
  rng: createRng(0),
  viewSpecs: pretrainViewSpecs(sslConfig('self-emd+spc+scale', 1, images.length)),
  prefetch: 'worker',
});
(await loader.next()).dispose(); // worker start-up
const t0 = performance.now();
const batches = 6;
for (let i = 0; i < batches; i++) (await loader.next()).dispose();
const pipelineImagesPerS = (batches * opt.batch) / ((performance.now() - t0) / 1000);
await loader.close();

let soak: { steps: number; tensorsFirst: number; tensorsLast: number; rssFirstMb: number; rssLastMb: number } | undefined;
if (opt.soak > 0) {
  log(`soak: ${opt.soak} BYOL steps …`);
  const r = await timeVariant('byol', opt.soak + opt.warmup);
  soak = {
    steps: opt.soak,
    tensorsFirst: r.tensors[0],
    tensorsLast: r.tensors.at(-1)!,
    rssFirstMb: r.rssMb[0],
    rssLastMb: r.rssMb.at(-1)!,
  };
}

let torch: { version: string; threads: number; stepMs: number } | { unavailable: string };
const python = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status !== 0) torch = { unavailable: `${python} cannot import torch (apt-get install python3-torch)` };
else {
  log('PyTorch reference …');
  const r = spawnSync(
    python,
    [
      path.join(here, 'torch_reference.py'),
      JSON.stringify({ ...opt, threads: backend.threads, steps: opt.steps, warmup: opt.warmup }),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) torch = { unavailable: r.stderr.trim().split('\n').at(-1) ?? 'failed' };
  else {
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    torch = { version: j.torch, threads: j.threads, stepMs: j.step_ms };
  }
}

const byol = results.byol.stepMs;
const report = {
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${process.platform}/${process.arch}` },
  backend,
  config: opt,
  stepMs: {
    supervised,
    ...Object.fromEntries(variants.map((v) => [v, results[v].stepMs])),
  },
  ratioToByol: {
    supervised: supervised / byol,
    ...Object.fromEntries(variants.map((v) => [v, results[v].stepMs / byol])),
  },
  sinkhorn: { pairs: 64, grid: 7, channels: 256, iterations: 10, ms: sinkhornMs, shareOfByolStep: sinkhornMs / byol },
  data: {
    workers: 1,
    imagesPerSecond: pipelineImagesPerS,
    imagesPerSecondNeeded: (opt.batch * 1000) / Math.min(...variants.map((v) => results[v].stepMs)),
    medianWaitMs: Object.fromEntries(variants.map((v) => [v, results[v].dataWaitMs])),
  },
  memory: Object.fromEntries(
    variants.map((v) => [v, { tensors: results[v].tensors, rssMb: results[v].rssMb.map((x) => Math.round(x)) }]),
  ),
  soak,
  torch,
  tfjsOverTorch: 'stepMs' in torch ? supervised / torch.stepMs : null,
};

if (a.json) console.log(JSON.stringify(report, null, 2));
else {
  const f = (x: number) => x.toFixed(1).padStart(9);
  const r = (x: number) => x.toFixed(3).padStart(7);
  console.log(`\n${opt.backbone} width ${opt.width}, batch ${opt.batch}, ${opt.size} px — ${backend.choice}, ${backend.threads} thread(s), TF.js ${backend.version}`);
  console.log('step                          ms/step   ÷ byol   data wait ms   tensors (first→last)');
  console.log(`supervised (fwd+bwd)       ${f(supervised)}  ${r(supervised / byol)}`);
  for (const v of variants) {
    const x = results[v];
    console.log(
      `${v.padEnd(26)} ${f(x.stepMs)}  ${r(x.stepMs / byol)}  ${x.dataWaitMs.toFixed(1).padStart(12)}   ${x.tensors[0]}→${x.tensors.at(-1)}`,
    );
  }
  console.log(`Sinkhorn EMD 64×(7×7), C=256, T=10, fwd+bwd: ${sinkhornMs.toFixed(1)} ms = ${(100 * sinkhornMs / byol).toFixed(1)}% of the byol step`);
  console.log(
    `data pipeline (1 worker thread, 3 views): ${pipelineImagesPerS.toFixed(0)} images/s; training consumes at most ${report.data.imagesPerSecondNeeded.toFixed(0)} images/s`,
  );
  if ('stepMs' in torch)
    console.log(`PyTorch ${torch.version} CPU, ${torch.threads} thread(s): ${torch.stepMs.toFixed(1)} ms/step → TF.js / PyTorch = ${(supervised / torch.stepMs).toFixed(2)}`);
  else console.log(`PyTorch reference skipped: ${torch.unavailable}`);
  if (soak)
    console.log(`soak ${soak.steps} steps: tensors ${soak.tensorsFirst}→${soak.tensorsLast}, RSS ${soak.rssFirstMb.toFixed(0)}→${soak.rssLastMb.toFixed(0)} MB`);
}
process.exit(0);
