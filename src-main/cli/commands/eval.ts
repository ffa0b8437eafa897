/**
 * `selfemd eval --gt GT.json --dt DETECTIONS.json [--iou-type bbox|segm] [--json]`: any COCO results
 * file against any COCO ground truth — the 12 COCOeval stats (pycocotools' numbers), per-category AP,
 * and (boxes) VOC AP50. With `--iou-type segm` the masks are scored: the ground truth's
 * `segmentation` (polygons or RLE) against the results' RLEs, as pycocotools' COCOeval(iouType='segm')
 * does with that same file (including loadRes's box areas when the results' first entry has a bbox).
 */
import * as fs from 'node:fs';
import { cocoDetectionsFromJson } from '../../engine/eval/coco-detections';
import type { CocoDataset } from '../../engine/eval/coco-types';
import { formatCocoStats, type CocoIouType } from '../../engine/eval/cocoeval';
import { scoreDetections } from '../../engine/detection/evaluate';
import { parse } from '../args';
import { CliError } from '../cli-error';

function readGroundTruth(file: string): CocoDataset {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`selfemd eval: --gt ${file}: ${(e as Error).message}`);
  }
  const v = value as Partial<CocoDataset>;
  for (const key of ['images', 'annotations', 'categories'] as const)
    if (!Array.isArray(v?.[key]))
      throw new CliError(`selfemd eval: --gt ${file}: not COCO instances JSON ("${key}" is not a list)`);
  v.annotations!.forEach((a, i) => {
    if (
      !Array.isArray(a?.bbox) ||
      a.bbox.length !== 4 ||
      typeof a.image_id !== 'number' ||
      typeof a.category_id !== 'number'
    )
      throw new CliError(
        `selfemd eval: --gt ${file}: annotations[${i}] needs image_id, category_id and a 4-number bbox`,
      );
    if (typeof a.area !== 'number') a.area = a.bbox[2] * a.bbox[3];
  });
  return v as CocoDataset;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('eval', argv, {
    gt: { type: 'string' },
    dt: { type: 'string' },
    'iou-type': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!v.gt || !v.dt)
    throw new CliError(
      'selfemd eval: usage: selfemd eval --gt GT.json --dt DETECTIONS.json [--iou-type bbox|segm] [--json]',
    );
  const iouType = (v['iou-type'] ?? 'bbox') as CocoIouType;
  if (iouType !== 'bbox' && iouType !== 'segm')
    throw new CliError(`selfemd eval: --iou-type ${v['iou-type']}: expected bbox or segm`);
  const gt = readGroundTruth(v.gt);
  let text: string;
  try {
    text = fs.readFileSync(v.dt, 'utf8');
  } catch (e) {
    throw new CliError(`selfemd eval: --dt ${v.dt}: ${(e as Error).message}`);
  }
  const { detections, report, firstHasBox } = cocoDetectionsFromJson(text, { gt, file: v.dt });
  if (detections.length === 0 && report.some((p) => p.problem.includes('nothing loaded')))
    throw new CliError(`selfemd eval: --dt ${v.dt}: ${report[0]!.problem}`);
  for (const p of report.slice(0, 10)) process.stderr.write(`${p.file} ${p.jsonPath ?? ''}: ${p.problem}\n`);
  if (report.length > 10) process.stderr.write(`… and ${report.length - 10} more\n`);
  if (iouType === 'segm') {
    if (detections.length > 0 && !detections.some((d) => d.segmentation))
      throw new CliError(
        `selfemd eval: --dt ${v.dt}: no detection has a segmentation; --iou-type segm scores masks`,
      );
    if (firstHasBox)
      process.stderr.write(
        `${v.dt}: the results carry bbox, so (as pycocotools' loadRes does) detections are sized by their box's area, not their mask's; drop bbox from segm results for mask areas\n`,
      );
  }
  let e;
  try {
    e = scoreDetections({ coco: gt }, detections, {
      iouType,
      dtAreaFromBox: iouType === 'segm' && firstHasBox,
    });
  } catch (err) {
    // e.g. segm on a ground truth without masks or image sizes: a problem with the input
    throw new CliError(`selfemd eval: ${(err as Error).message}`);
  }
  if (v.json) {
    console.log(
      JSON.stringify(
        {
          iou_type: iouType,
          stats: e.stats,
          per_category: Object.fromEntries(
            Object.entries(e.perCategory).map(([id, r]) => [
              id,
              { name: r.name, AP: r.ap, AP50: r.ap50, num_gt: r.numGt },
            ]),
          ),
          ...(iouType === 'bbox' ? { voc: { mAP50: e.voc.mAP, per_class: e.voc.perClass } } : {}),
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(formatCocoStats(e.stats));
  // -1 is COCOeval's "no ground truth of this category": not a score.
  const pct = (v: number) => (v < 0 ? 'n/a' : (100 * v).toFixed(1)).padStart(5);
  for (const r of Object.values(e.perCategory))
    console.log(`  ${r.name.padEnd(16)} AP ${pct(r.ap)}  AP50 ${pct(r.ap50)}  (${r.numGt} gt)`);
  if (iouType === 'bbox')
    console.log(
      `VOC AP50 (area): ${(100 * e.voc.mAP).toFixed(1)} over ${Object.keys(e.voc.perClass).length} classes`,
    );
}
