/**
 * What a detector's highest-scoring detections are, by kind of error (in the spirit of TIDE, Bolya
 * et al. 2020, without its AP deltas): of the top K detections (K = 1.5 × the number of ground-truth
 * objects, the part of the ranking that decides AP50), how many are correct, duplicates of a found
 * object, well placed but of the wrong class (IoU ≥ 0.5 with an object of another class),
 * mislocalised (0.1 ≤ IoU < 0.5 with an object of their class) or background. A run with a low AP50
 * but few background or mislocalised detections finds the objects and fails at naming them
 * (docs/detection.md, "RetinaNet seeds").
 *
 *   npx tsx bench/detection-errors.ts VAL_GT.json DETECTIONS.json [DETECTIONS.json …]
 *
 * (`val_gt.json` and `val_detections.json` are what a fine-tune writes beside its run; the bench's
 * `torchvision_detections.json` read the same way.)
 */
import * as fs from 'node:fs';
import type { CocoDataset } from '../src-main/engine/eval/coco-types';
import { cocoDetectionsFromJson } from '../src-main/engine/eval/coco-detections';
import { cocoBoxIou } from '../src-main/engine/eval/cocoeval';

const [gtFile, ...detFiles] = process.argv.slice(2);
if (!gtFile || detFiles.length === 0)
  throw new Error('usage: detection-errors.ts VAL_GT.json DETECTIONS.json [DETECTIONS.json …]');
const gt = JSON.parse(fs.readFileSync(gtFile, 'utf8')) as CocoDataset;
const byImage = new Map<number, CocoDataset['annotations']>();
for (const a of gt.annotations) byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
const names = new Map(gt.categories.map((c) => [c.id, c.name]));
const top = Math.round(1.5 * gt.annotations.length);

for (const file of detFiles) {
  const { detections, report } = cocoDetectionsFromJson(fs.readFileSync(file, 'utf8'), { file });
  // what the reader noted (e.g. zero-area boxes, kept: they can only be false positives)
  for (const p of new Set(report.map((r) => r.problem))) console.log(`${file}: note: ${p}`);
  const ranked = [...detections].sort((a, b) => b.score - a.score).slice(0, top);
  const kinds = { correct: 0, duplicate: 0, 'wrong class': 0, mislocalised: 0, background: 0 };
  const confusions = new Map<string, number>();
  const found = new Set<number>();
  for (const d of ranked) {
    // the object it overlaps most, and the most among its own class
    let best = { iou: 0, id: -1, category: -1 };
    let own = { iou: 0, id: -1 };
    for (const a of byImage.get(d.image_id) ?? []) {
      const iou = cocoBoxIou(d.bbox, a.bbox, false);
      if (iou > best.iou) best = { iou, id: a.id, category: a.category_id };
      if (a.category_id === d.category_id && iou > own.iou) own = { iou, id: a.id };
    }
    if (own.iou >= 0.5) {
      kinds[found.has(own.id) ? 'duplicate' : 'correct']++;
      found.add(own.id);
    } else if (best.iou >= 0.5) {
      kinds['wrong class']++;
      const pair = `${names.get(best.category)} → ${names.get(d.category_id)}`;
      confusions.set(pair, (confusions.get(pair) ?? 0) + 1);
    } else if (own.iou >= 0.1) kinds.mislocalised++;
    else kinds.background++;
  }
  const share = Object.entries(kinds)
    .map(([k, n]) => `${k} ${n} (${((100 * n) / ranked.length).toFixed(0)} %)`)
    .join(', ');
  const common = [...confusions]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([pair, n]) => `${pair} ${n}`)
    .join(', ');
  console.log(`${file}: top ${ranked.length} detections: ${share}`);
  console.log(`  most common confusions (object → detected as): ${common || 'none'}`);
}
