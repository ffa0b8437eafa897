/**
 * The TypeScript half of the torchvision detection reference (bench/torch_detection_reference.py):
 * writes what the Python side reads — the demo split as a COCO folder, our detector's initial
 * weights under torchvision's names, and a spec JSON with the resolved fine-tune config and the
 * per-step learning rates (so the recipe lives only in shared/config/finetune.ts) — runs it, and
 * scores its detections with our COCO evaluator. Used by bench/detection-bench.ts
 * (`npm run bench:detection`) and by test/bench/torch-detection-reference.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FinetuneConfig } from '../shared/config/finetune';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src-main/engine/data/augment-params';
import { writeDemoPng } from '../src-main/engine/data/demo-scenes';
import { initBackbone } from '../src-main/engine/detection/backbone-init';
import type { DetectionData } from '../src-main/engine/detection/datasets';
import type { Detector } from '../src-main/engine/detection/detector';
import { scoreDetections, type DetectionEvaluation } from '../src-main/engine/detection/evaluate';
import type { DetectionDataset } from '../src-main/engine/detection/inputs';
import { createDetector } from '../src-main/engine/detection/registry';
import { planFinetune } from '../src-main/engine/detection/finetune';
import { scaledSchedule, stepDecayLr } from '../src-main/engine/detection/schedule';
import { cocoDetectionsFromJson } from '../src-main/engine/eval/coco-detections';
import { detectorToTorchvisionTensors } from '../src-main/engine/export/detector-torchvision';
import { writeSafetensors } from '../src-main/engine/export/safetensors';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REFERENCE_SCRIPT = path.join(here, 'torch_detection_reference.py');
/** Debian's python3 has torch (pyenv's python3 on PATH does not); overridable as in bench/main.ts. */
export const referencePython = (): string => process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';

/** Null when `python` can import torch and torchvision (found, not imported: that takes seconds), else why not. */
export function torchvisionMissing(python = referencePython()): string | null {
  const code =
    "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 3)";
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${python} could not run (${r.error.message})`;
  if (r.status === 3) return `${python} has no torch/torchvision`;
  if (r.status !== 0) return `${python}: ${(r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}`}`;
  return null;
}

/** The train / val splits as a COCO folder: `train.json`, `val.json`, images under `train/`, `val/`. */
export async function writeCocoFolder(dir: string, data: DetectionData): Promise<void> {
  for (const [split, ds] of [
    ['train', data.train],
    ['val', data.val],
  ] as const) {
    fs.mkdirSync(path.join(dir, split), { recursive: true });
    const images = ds.coco.images.map((im, i) => {
      const file = `${split}/${i}.png`;
      return { im: { ...im, file_name: file }, sample: ds.samples[i]! };
    });
    for (const { im, sample } of images) await writeDemoPng(path.join(dir, im.file_name), sample.image);
    const coco = { ...ds.coco, images: images.map((x) => x.im) };
    fs.writeFileSync(path.join(dir, `${split}.json`), JSON.stringify(coco));
  }
}

export interface ReferenceSpec {
  config: FinetuneConfig;
  /** Category ids in class-index order. */
  categories: number[];
  /** Learning rate of every step (the trainer's schedule): its length is the step count. */
  lrs: number[];
  coco: string;
  weights: string;
  detections: string;
  imageMean: readonly number[];
  imageStd: readonly number[];
  threads: number;
  logEvery: number;
}

/** Our initial detector for `config` (the weights runFinetune starts from: same config, same seeds). */
export async function initialDetector(config: FinetuneConfig, numClasses: number): Promise<Detector> {
  const { backbone } = await initBackbone(config);
  return createDetector(config, backbone, numClasses);
}

/**
 * Writes `<dir>/init.safetensors` (our initial weights, torchvision's names) and `<dir>/spec.json`
 * for a run of `config` on `train`; the COCO folder must already be at `coco`.
 */
export async function writeReferenceSpec(
  dir: string,
  config: FinetuneConfig,
  train: DetectionDataset,
  coco: string,
  detector?: Detector,
): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const own = detector ?? (await initialDetector(config, train.categories.length));
  try {
    const exp = await detectorToTorchvisionTensors(own, config);
    await writeSafetensors(path.join(dir, 'init.safetensors'), exp.tensors, exp.metadata);
  } finally {
    if (!detector) own.dispose();
  }
  const plan = planFinetune(config, train.samples.length);
  const schedule = scaledSchedule(plan.totalSteps, config.optim);
  const spec: ReferenceSpec = {
    config,
    categories: train.categories.map((c) => c.id),
    lrs: Array.from({ length: plan.totalSteps }, (_, k) => stepDecayLr(k, schedule)),
    coco,
    weights: path.join(dir, 'init.safetensors'),
    detections: path.join(dir, 'torchvision_detections.json'),
    imageMean: IMAGENET_MEAN,
    imageStd: IMAGENET_STD,
    threads: 1,
    logEvery: 50,
  };
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec, null, 1));
  return file;
}

export type ReferenceEvent = { event: string } & Record<string, unknown>;

/** Runs the reference on a spec (extra args e.g. `--check batch.safetensors`); resolves with its JSON events. */
export function runReference(
  specFile: string,
  extraArgs: string[] = [],
  onEvent?: (e: ReferenceEvent) => void,
): Promise<ReferenceEvent[]> {
  const python = referencePython();
  const child = spawn(python, [REFERENCE_SCRIPT, specFile, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: ReferenceEvent[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const e = JSON.parse(line) as ReferenceEvent;
    events.push(e);
    onEvent?.(e);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`${python}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(events);
      else reject(new Error(`${REFERENCE_SCRIPT} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * The reference's detections file scored by our evaluator against `val`. Entries our reader would
 * skip are an error; the ones it keeps with a warning (torchvision's RetinaNet keeps boxes clipped
 * to zero width at the border, which can only be false positives) are counted.
 */
export function scoreReferenceDetections(
  val: DetectionDataset,
  file: string,
): DetectionEvaluation & { warnings: number } {
  const text = fs.readFileSync(file, 'utf8');
  const written = (JSON.parse(text) as unknown[]).length;
  const { detections, report } = cocoDetectionsFromJson(text, { gt: val.coco, file });
  if (detections.length !== written)
    throw new Error(
      `${file}: our reader kept ${detections.length} of ${written} detections; first problem: ${JSON.stringify(report[0])}`,
    );
  return { ...scoreDetections(val, detections), warnings: report.length };
}
