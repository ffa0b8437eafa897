/**
 * Pascal VOC detection AP per class, as the official devkit's VOCevaldet.m / VOCap.m compute it
 * (py-faster-rcnn's voc_eval.py is a port of the same code).
 *
 * Conventions, and why:
 * - Boxes are VOC's [xmin, ymin, xmax, ymax] in 1-based, inclusive pixel indices, and the overlap uses
 *   the devkit's "+1" widths (xmax - xmin + 1). That is the right arithmetic for VOC-format
 *   annotations, whose corners name pixels, not continuous coordinates. For COCO-style [x, y, w, h]
 *   boxes use cocoBoxToVoc ([x+1, y+1, x+w, y+h]): the +1 overlap of the converted boxes then equals
 *   the continuous IoU of the originals, so nothing is shifted.
 * - A detection is a TP when its best overlap is >= the threshold (devkit; py-faster-rcnn uses >).
 *   Its best gt is the first with the highest overlap among gts that intersect it.
 * - Detections whose best gt is `difficult` count neither as TP nor FP; difficult gts are not in npos.
 *   A second detection of an already found gt is an FP.
 * - Detections are sorted by score with a stable sort (MATLAB's sort is stable).
 * - Precision where tp + fp = 0 (only "difficult" detections so far) is 0, as py-faster-rcnn's eps
 *   guard gives, rather than MATLAB's NaN; both lead to the same AP except in the degenerate case of a
 *   class whose detections all hit difficult objects (NaN in MATLAB, 0 here).
 * - VOC2007 11-point AP: mean over t = 0, 0.1, ..., 1 of the max precision at recall >= t, with the
 *   thresholds built as i * 0.1 (numpy arange / MATLAB colon give 0.30000000000000004 for i = 3, so a
 *   recall of exactly 3/10 does not reach "0.3", as in every reference implementation).
 * - VOC2010+ "area" AP: area under the precision envelope at the recall change points.
 *
 * Pure TypeScript.
 */
import type { CocoAnnotation, CocoBox, CocoDataset, CocoDetection } from './coco-types';

export type VocBox = [number, number, number, number];
export type VocImageId = string | number;

export interface VocObject {
  imageId: VocImageId;
  className: string;
  box: VocBox;
  difficult?: boolean;
}

export interface VocDetection {
  imageId: VocImageId;
  className: string;
  box: VocBox;
  score: number;
}

export interface VocGroundTruth {
  /** Every image of the evaluated set, including those without objects. */
  imageIds: VocImageId[];
  objects: VocObject[];
}

export interface VocEvalOptions {
  /** 'voc07': 11-point interpolated AP; 'area' (default): VOC2010+ area under the envelope. */
  metric?: 'voc07' | 'area';
  /** Default 0.5. */
  iouThreshold?: number;
}

export interface VocClassResult {
  /** -1 when the class has no non-difficult object. */
  ap: number;
  npos: number;
  numDetections: number;
  tp: number;
  fp: number;
  /** Cumulative recall / precision after each score-sorted detection. */
  recall: number[];
  precision: number[];
}

export interface VocEvalResult {
  perClass: Record<string, VocClassResult>;
  /** Mean AP over classes with at least one non-difficult object; -1 if there are none. */
  mAP: number;
  warnings: string[];
}

/** Devkit overlap with inclusive pixel widths; 0 when the boxes do not intersect. */
export function vocIou(a: VocBox, b: VocBox): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1;
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1;
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter;
  return inter / ua;
}

/** [x, y, w, h] (continuous) to VOC inclusive pixel corners. */
export function cocoBoxToVoc(b: CocoBox): VocBox {
  return [b[0] + 1, b[1] + 1, b[0] + b[2], b[1] + b[3]];
}

/** VOCap.m (metric 'area') or the VOC2007 11-point loop (metric 'voc07'). */
export function vocAp(recall: number[], precision: number[], metric: 'voc07' | 'area'): number {
  if (metric === 'voc07') {
    let ap = 0;
    for (let i = 0; i <= 10; i++) {
      const t = i * 0.1;
      let p = 0;
      for (let j = 0; j < recall.length; j++) if (recall[j]! >= t && precision[j]! > p) p = precision[j]!;
      ap += p / 11;
    }
    return ap;
  }
  const mrec = [0, ...recall, 1];
  const mpre = [0, ...precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++)
    if (mrec[i] !== mrec[i - 1]) ap += (mrec[i]! - mrec[i - 1]!) * mpre[i]!;
  return ap;
}

export function vocEval(gt: VocGroundTruth, dets: VocDetection[], opts: VocEvalOptions = {}): VocEvalResult {
  const metric = opts.metric ?? 'area';
  const thr = opts.iouThreshold ?? 0.5;
  const warnings: string[] = [];
  const images = new Set(gt.imageIds);
  const classes: string[] = [];
  const seen = new Set<string>();
  for (const o of gt.objects) {
    if (!seen.has(o.className)) {
      seen.add(o.className);
      classes.push(o.className);
    }
  }
  const orphanObjects = gt.objects.filter((o) => !images.has(o.imageId)).length;
  if (orphanObjects > 0)
    warnings.push(`${orphanObjects} objects are on images outside the image list: ignored`);
  let unknownImage = 0;
  let badScore = 0;
  const detsByClass = new Map<string, VocDetection[]>();
  for (const d of dets) {
    if (!images.has(d.imageId)) {
      unknownImage++;
      continue;
    }
    if (!Number.isFinite(d.score)) {
      badScore++;
      continue;
    }
    if (!seen.has(d.className)) {
      seen.add(d.className);
      classes.push(d.className);
    }
    const list = detsByClass.get(d.className);
    if (list) list.push(d);
    else detsByClass.set(d.className, [d]);
  }
  if (unknownImage > 0)
    warnings.push(`${unknownImage} detections are on images outside the image list: dropped`);
  if (badScore > 0) warnings.push(`${badScore} detections have a non-finite score: dropped`);

  const perClass: Record<string, VocClassResult> = {};
  for (const cls of classes) {
    const recs = new Map<VocImageId, { boxes: VocBox[]; difficult: boolean[]; found: boolean[] }>();
    let npos = 0;
    for (const o of gt.objects) {
      if (o.className !== cls || !images.has(o.imageId)) continue;
      let r = recs.get(o.imageId);
      if (!r) recs.set(o.imageId, (r = { boxes: [], difficult: [], found: [] }));
      r.boxes.push(o.box);
      r.difficult.push(Boolean(o.difficult));
      r.found.push(false);
      if (!o.difficult) npos++;
    }
    const cdets = [...(detsByClass.get(cls) ?? [])].sort((a, b) => b.score - a.score); // stable
    const recall: number[] = [];
    const precision: number[] = [];
    let tp = 0;
    let fp = 0;
    for (const d of cdets) {
      const r = recs.get(d.imageId);
      let ovmax = -Infinity;
      let jmax = -1;
      if (r) {
        for (let j = 0; j < r.boxes.length; j++) {
          const bg = r.boxes[j]!;
          const iw = Math.min(d.box[2], bg[2]) - Math.max(d.box[0], bg[0]) + 1;
          const ih = Math.min(d.box[3], bg[3]) - Math.max(d.box[1], bg[1]) + 1;
          if (iw > 0 && ih > 0) {
            const ov = vocIou(d.box, bg);
            if (ov > ovmax) {
              ovmax = ov;
              jmax = j;
            }
          }
        }
      }
      if (ovmax >= thr && r) {
        if (!r.difficult[jmax]) {
          if (!r.found[jmax]) {
            tp++;
            r.found[jmax] = true;
          } else fp++;
        }
      } else fp++;
      recall.push(npos > 0 ? tp / npos : 0);
      precision.push(tp + fp > 0 ? tp / (tp + fp) : 0);
    }
    perClass[cls] = {
      ap: npos > 0 ? vocAp(recall, precision, metric) : -1,
      npos,
      numDetections: cdets.length,
      tp,
      fp,
      recall,
      precision,
    };
  }
  const valid = Object.values(perClass).filter((c) => c.npos > 0);
  const mAP = valid.length ? valid.reduce((s, c) => s + c.ap, 0) / valid.length : -1;
  return { perClass, mAP, warnings };
}

/**
 * VOC AP on COCO-shaped data (e.g. toCocoJson of an imported VOC set): boxes go through cocoBoxToVoc,
 * an annotation is difficult if it carries `difficult` or is a crowd region, classes are named by
 * the dataset's categories.
 */
export function vocEvalCoco(
  gt: Omit<CocoDataset, 'annotations'> & {
    annotations: (CocoAnnotation & { difficult?: boolean | number })[];
  },
  dets: CocoDetection[],
  opts: VocEvalOptions = {},
): VocEvalResult {
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const name = (id: number) => names.get(id) ?? `category ${id}`;
  return vocEval(
    {
      imageIds: gt.images.map((im) => im.id),
      objects: gt.annotations.map((a) => ({
        imageId: a.image_id,
        className: name(a.category_id),
        box: cocoBoxToVoc(a.bbox),
        difficult: Boolean(a.difficult) || Boolean(a.iscrowd),
      })),
    },
    dets.map((d) => ({
      imageId: d.image_id,
      className: name(d.category_id),
      box: cocoBoxToVoc(d.bbox),
      score: d.score,
    })),
    opts,
  );
}
