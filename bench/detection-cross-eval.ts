/**
 * Same weights, both inference paths: the final checkpoint of our side of a `bench:detection` row
 * evaluated by our evaluator and, exported with torchvision's names, by the reference's own
 * inference (`torch_detection_reference.py --detect-only`), both scored by our COCO evaluator. Equal
 * AP says a gap between the two sides' rows comes from the trained weights, not from eval-mode BN,
 * the export or post-processing (docs/detection.md, "Pretrained init against torchvision").
 *
 *   npx tsx bench/detection-cross-eval.ts OUT/retinanet-pretrained
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FinetuneConfig } from '../shared/config/finetune';
import { initBackend } from '../src-main/engine/backend/select';
import { loadDetectionData } from '../src-main/engine/detection/datasets';
import { evaluateDetector } from '../src-main/engine/detection/evaluate';
import { restoreDetector, type FinetuneState } from '../src-main/engine/detection/finetune';
import { createDetector } from '../src-main/engine/detection/registry';
import { detectorToTorchvisionTensors } from '../src-main/engine/export/detector-torchvision';
import { writeSafetensors } from '../src-main/engine/export/safetensors';
import { createBackbone } from '../src-main/engine/models/registry';
import { listCheckpoints, loadCheckpoint } from '../src-main/engine/train/checkpoint';
import { runReference, scoreReferenceDetections, type ReferenceSpec } from './detection-reference';

const rowDir = process.argv[2];
if (!rowDir) throw new Error('usage: detection-cross-eval.ts ROW_DIR (a bench:detection row folder)');
const spec = JSON.parse(fs.readFileSync(path.join(rowDir, 'spec.json'), 'utf8')) as ReferenceSpec;
const config: FinetuneConfig = spec.config;
const latest = listCheckpoints(path.join(rowDir, 'ours', 'checkpoints')).at(-1);
if (!latest) throw new Error(`${rowDir}/ours/checkpoints: no checkpoint of our run`);

await initBackend('wasm');
const data = await loadDetectionData(config);
const backbone = createBackbone(config.backbone.name, { baseWidth: config.backbone.baseWidth, seed: 0 });
const detector = createDetector(config, backbone, data.train.categories.length);
try {
  restoreDetector(detector, loadCheckpoint<FinetuneState>(latest.dir));
  const pct = (s: number[]) => `AP ${(100 * s[0]!).toFixed(1)} AP50 ${(100 * s[1]!).toFixed(1)}`;
  console.log(`${latest.dir}: ours ${pct((await evaluateDetector(detector, data.val, config)).stats)}`);
  const out = path.join(rowDir, 'cross-eval');
  fs.mkdirSync(out, { recursive: true });
  const exp = await detectorToTorchvisionTensors(detector, config);
  await writeSafetensors(path.join(out, 'final.safetensors'), exp.tensors, exp.metadata);
  const crossSpec: ReferenceSpec = {
    ...spec,
    weights: path.join(out, 'final.safetensors'),
    detections: path.join(out, 'torchvision_detections.json'),
  };
  fs.writeFileSync(path.join(out, 'spec.json'), JSON.stringify(crossSpec, null, 1));
  await runReference(path.join(out, 'spec.json'), ['--detect-only']);
  console.log(
    `${latest.dir}: torchvision ${pct(scoreReferenceDetections(data.val, crossSpec.detections).stats)}`,
  );
} finally {
  detector.dispose();
}
