/**
 * `npm run bench:detection [-- --detectors retinanet,faster-rcnn --inits random,pretrained
 *   --steps N --size S --train N --val N --seeds 0,1 --pretrain-epochs E --pretrained-run DIR --out DIR --json]`
 *
 * Issue 12's check of our detectors against torchvision's: for each detector and initialisation,
 * ours (runFinetune, wasm) and torchvision's (bench/torch_detection_reference.py, PyTorch CPU, one
 * thread) train from the same initial weights (ours, exported with torchvision's names) on the same
 * demo scenes, with the same config — the detector's CPU recipe (`cpuFinetuneOverrides(detector)`), under
 * the options here — and both sides' val detections are scored by our COCO evaluator. Prints AP /
 * AP50 for both and the difference; the target is ours ≥ torchvision's AP50 − 3.
 *
 * `--inits pretrained` first runs a short demo pretraining (Self-EMD, the CPU demo preset at our
 * backbone) and starts both detectors from its backbone. The two sides run at the same time, one
 * core each; times are each process's CPU seconds (what an idle machine's wall time would be) and
 * wall seconds. A quick version: `--steps 60 --train 64 --val 32` (a few minutes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  finetuneSizeOverrides,
  plannedFinetuneSteps,
  resolveFinetuneConfig,
  type DetectorName,
  type FinetuneConfig,
} from '../shared/config/finetune';
import { cpuDemoOverrides, resolvePretrainConfig } from '../shared/config/pretrain';
import { mergeDefaults } from '../shared/config/validation';
import { cpuRecipeConfig } from './cpu-recipe-config';
import { initBackend } from '../src-main/engine/backend/select';
import { loadPretrainImages } from '../src-main/engine/data/pretrain-data';
import { loadDetectionData, type DetectionData } from '../src-main/engine/detection/datasets';
import { runFinetune } from '../src-main/engine/detection/finetune';
import { runPretraining } from '../src-main/engine/train/pretrain';
import {
  runReference,
  scoreReferenceDetections,
  torchvisionMissing,
  writeCocoFolder,
  writeReferenceSpec,
  type ReferenceSpec,
} from './detection-reference';
import { benchMeans, benchTable, type BenchRow, type BenchSide } from './detection-bench-table';

const { values: a } = parseArgs({
  options: {
    detectors: { type: 'string', default: 'retinanet,faster-rcnn' },
    inits: { type: 'string', default: 'random,pretrained' },
    /** Optimizer steps (default: the recipe's epochs on the training split). */
    steps: { type: 'string' },
    /** Image size as the CLI's --size means it (default: the recipe's). */
    size: { type: 'string' },
    train: { type: 'string' },
    val: { type: 'string' },
    /**
     * The fine-tunes' seeds, one run of each pair per seed (config.seed: head init, random-init
     * backbone, data order, flips, sizes; torchvision's data stream and samplers). The pretraining
     * run and the demo scenes keep theirs. With several, the target is judged on the means.
     */
    seeds: { type: 'string', default: '0' },
    'pretrain-epochs': { type: 'string', default: '1' },
    /** A pretraining run to start the `pretrained` rows from instead of running one. */
    'pretrained-run': { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const missing = torchvisionMissing();
if (missing) {
  console.error(
    `bench:detection needs PyTorch: ${missing}; apt-get install python3-torch python3-torchvision`,
  );
  process.exit(1);
}
const detectors = a.detectors.split(',') as DetectorName[];
const inits = a.inits.split(',');
for (const i of inits)
  if (i !== 'random' && i !== 'pretrained')
    throw new Error(`--inits: "${i}" is neither random nor pretrained`);
const out = a.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-bench-detection-'));
fs.mkdirSync(out, { recursive: true });

// The recipe as it is now, under this run's options.
const dataOverrides: Record<string, unknown> = {};
if (a.size)
  Object.assign(dataOverrides, { demoSize: Number(a.size), ...finetuneSizeOverrides(Number(a.size)) });
if (a.train) dataOverrides.demoTrain = Number(a.train);
if (a.val) dataOverrides.demoVal = Number(a.val);
const benchSettings = {
  data: dataOverrides,
  checkpoint: { everySteps: 1_000_000 },
  eval: { everyEpochs: 0 },
};
const seeds = a.seeds.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--seeds: "${s}" is not a non-negative integer`);
  return n;
});
function configFor(detector: DetectorName, init: string, pretrainDir: string, seed: number): FinetuneConfig {
  let config = cpuRecipeConfig(
    {
      detector,
      init: init === 'random' ? { kind: 'random', path: '' } : { kind: 'pretrain-run', path: pretrainDir },
      seed,
    },
    benchSettings,
  );
  if (a.steps) {
    // epochs as a fraction of the split, so the trainer's plan (and the schedule) is exactly --steps
    const { stepsPerEpoch } = plannedFinetuneSteps(config, config.data.demoTrain);
    config = resolveFinetuneConfig({
      ...config,
      optim: { ...config.optim, epochs: Number(a.steps) / stepsPerEpoch },
    });
  }
  return config;
}

// An uncaught error would be printed by the wasm module's handler together with its whole source.
process.on('uncaughtException', (e) => {
  console.error(`bench:detection failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  console.error(`bench:detection failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});

await initBackend('wasm');
const first = configFor(detectors[0]!, 'random', '', seeds[0]!);
const data: DetectionData = await loadDetectionData(first, log);
const coco = path.join(out, 'coco');
await writeCocoFolder(coco, data);
log(`COCO folder of the demo split: ${coco}`);

let pretrainDir = a['pretrained-run'] ?? '';
if (inits.includes('pretrained') && !pretrainDir) {
  pretrainDir = path.join(out, 'pretrain');
  const pconfig = resolvePretrainConfig(
    mergeDefaults(cpuDemoOverrides(), {
      backend: 'wasm',
      backbone: { name: first.backbone.name, baseWidth: first.backbone.baseWidth },
      optim: { epochs: Number(a['pretrain-epochs']) },
      checkpoint: { everySteps: 1_000_000 },
    }),
  );
  const t0 = performance.now();
  const { images } = await loadPretrainImages(pconfig.data);
  const r = await runPretraining({ config: pconfig, images, runDir: pretrainDir, keepCheckpoints: 1 });
  log(
    `demo pretraining (${pconfig.method}, ${r.step} steps of ${pconfig.optim.batchSize} at ${pconfig.data.imageSize} px): ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s → ${pretrainDir}`,
  );
}

const rows: BenchRow[] = [];

async function ours(config: FinetuneConfig, dir: string): Promise<BenchSide> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // loss terms summed since the last progress line (means over 50 steps, as the reference prints)
  const sums = new Map<string, number>();
  let count = 0;
  const result = await runFinetune({
    config,
    train: data.train,
    val: data.val,
    runDir: path.join(dir, 'ours'),
    keepCheckpoints: 1,
    hooks: {
      onMetrics: (points) => {
        for (const p of points)
          if (p.key.startsWith('loss/')) sums.set(p.key, (sums.get(p.key) ?? 0) + p.value);
        count++;
      },
      onProgress: (p) => {
        if (p.step % 50 !== 0 && p.step !== p.totalSteps) return;
        const means = Object.fromEntries(
          [...sums].map(([k, v]) => [k.slice(5), Number((v / count).toFixed(4))]),
        );
        log(`ours ${config.detector}: step ${p.step}/${p.totalSteps} ${JSON.stringify(means)}`);
        sums.clear();
        count = 0;
      },
    },
  });
  const c = process.cpuUsage(cpu0);
  const s = result.evaluation!.stats;
  return {
    AP: 100 * s[0]!,
    AP50: 100 * s[1]!,
    cpuS: (c.user + c.system) / 1e6,
    wallS: (performance.now() - t0) / 1000,
  };
}

async function theirs(specFile: string, detector: string): Promise<BenchSide> {
  const t0 = performance.now();
  const events = await runReference(specFile, [], (e) => {
    if (e.event === 'step') {
      const losses = Object.values(e.losses as Record<string, number>).reduce((x, y) => x + y, 0);
      log(
        `torchvision ${detector}: step ${String(e.step)}/${String(e.total)} loss ${losses.toFixed(3)} ${JSON.stringify(e.losses)}`,
      );
    }
  });
  const done = events.find((e) => e.event === 'done')!;
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as ReferenceSpec;
  const s = scoreReferenceDetections(data.val, spec.detections).stats;
  return {
    AP: 100 * s[0]!,
    AP50: 100 * s[1]!,
    cpuS: Number(done.train_cpu_s),
    wallS: (performance.now() - t0) / 1000,
  };
}

for (const seed of seeds) {
  for (const init of inits) {
    for (const detector of detectors) {
      const config = configFor(detector, init, pretrainDir, seed);
      const dir = path.join(
        out,
        seeds.length > 1 ? `${detector}-${init}-seed${seed}` : `${detector}-${init}`,
      );
      const specFile = await writeReferenceSpec(dir, config, data.train, coco);
      const steps = plannedFinetuneSteps(config, data.train.samples.length).totalSteps;
      log(`${detector}, ${init} init, seed ${seed}: ${steps} steps, both sides (spec ${specFile})`);
      const [o, t] = await Promise.all([ours(config, dir), theirs(specFile, detector)]);
      rows.push({ detector, init, seed, steps, ours: o, torchvision: t, deltaAP50: o.AP50 - t.AP50 });
      log(
        `${detector}, ${init}, seed ${seed}: ours AP50 ${o.AP50.toFixed(1)}, torchvision ${t.AP50.toFixed(1)}`,
      );
      writeResults();
    }
  }
}

function writeResults() {
  const summary = {
    args: a,
    data: { train: data.train.samples.length, val: data.val.samples.length, size: first.data.minSizeTest },
    pretrainRun: pretrainDir,
    rows,
    means: benchMeans(rows),
  };
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(summary, null, 1));
  return summary;
}
const summary = writeResults();
if (a.json) console.log(JSON.stringify(summary));
else console.log(benchTable(rows));
