/**
 * COCO bounding-box and instance-mask evaluation, reproducing pycocotools' COCO.loadRes +
 * COCOeval(iouType='bbox' | 'segm') evaluate() / accumulate() / summarize() step for step, so that
 * numbers are comparable with published ones. Written from a reading of cocoapi's
 * PythonAPI/pycocotools (cocoeval.py, coco.py) and common/maskApi.c (bbIou, rleIou). The two IoU
 * types share everything but the IoU and the detections' area (segm: the mask's, see
 * `dtAreaFromBox`). Behaviours kept on purpose because pycocotools has them:
 *
 * - detections get ids 1..N in input order (loadRes) and area = w*h of their box;
 * - a ground truth's `ignore` field is overwritten by `iscrowd` in _prepare, so only crowd and the
 *   area range decide whether a gt is ignored;
 * - the area ranges are closed on both ends: an object of area exactly 32² is both small and medium;
 * - a detection is matched with IoU >= threshold, a later gt with an equal IoU replaces the earlier
 *   best, crowd gts can absorb any number of detections, matching stops at the first ignored gt once a
 *   regular gt matched;
 * - "matched" is "matched gt id != 0": a gt whose id is 0 is never counted as a true positive
 *   (pycocotools stores the id in a zero-initialised array). We reproduce it and warn;
 * - duplicate gt annotation ids resolve to the last annotation with that id (COCO.createIndex);
 * - categories and images are sorted by id (np.unique); sorts of scores are stable (mergesort);
 * - precision at recall r is the precision envelope at the first point whose recall >= r
 *   (searchsorted 'left'); recall thresholds beyond the last point get precision 0;
 * - -1 marks settings without any non-ignored gt and is excluded from the means.
 *
 * - segm: masks are RLEs (polygons rasterised as rleFrPoly on the image's height x width, and merged);
 *   mask IoU is computed only where the masks' boxes overlap (rleIou runs bbIou first), is -1 (never
 *   a match) between masks of different sizes, and against a crowd gt divides by the detection's area;
 *   a detection without a mask is its box as a polygon (loadRes writes one), and so, with a warning, is
 *   a gt without one (where pycocotools fails).
 *
 * Detections on images absent from the ground truth make loadRes assert; here they are dropped and
 * listed in `warnings` instead. Pure TypeScript: no Node, no TF.js.
 */
import { rleIou } from '../data/masks/mask-iou';
import { boxToRle } from '../data/masks/polygon';
import { rleArea, rleToBbox, type Rle } from '../data/masks/rle';
import { segmentationToRle, toPlainRle } from '../data/masks/segmentation';
import type { CocoAnnotation, CocoBox, CocoDataset, CocoDetection } from './coco-types';

export const COCO_STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;

export type CocoAreaLabel = 'all' | 'small' | 'medium' | 'large';

/** What is compared: boxes, or instance masks (`segmentation` of gts and detections). */
export type CocoIouType = 'bbox' | 'segm';

export interface CocoEvalParams {
  iouType: CocoIouType;
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: [number, number, number];
  areaRng: [number, number][];
  areaRngLbl: CocoAreaLabel[];
}

export interface CocoEvalOptions {
  /** 'bbox' (default) or 'segm'. */
  iouType?: CocoIouType;
  /**
   * segm only: bucket detections by their box's area instead of their mask's. pycocotools' loadRes
   * does this when the results' first entry has a `bbox` (which is why detectron2 drops `bbox` from
   * segm results); set it to reproduce pycocotools on such a results file. Default false.
   */
  dtAreaFromBox?: boolean;
  /** Evaluate only these images (pycocotools params.imgIds). Default: every gt image. */
  imgIds?: number[];
  /** Evaluate only these categories (params.catIds). Default: every gt category. */
  catIds?: number[];
  /**
   * Accumulate only at the last maxDets (100): every AP number and AR@100 are as usual, AR@1 and AR@10
   * come back -1. A third of the work, for callers that score many resampled sets (a study's bootstrap).
   */
  lastMaxDetOnly?: boolean;
}

export interface CocoCategoryResult {
  id: number;
  /** AP over IoU .50:.95, area all, 100 detections; -1 when the category has no non-crowd gt. */
  ap: number;
  /** AP at IoU .50; -1 as above. */
  ap50: number;
  /** Non-crowd ground truths of this category in the evaluated images. */
  numGt: number;
}

export interface CocoEvalResult {
  /** The 12 numbers of COCOeval.summarize(), in COCO_STAT_NAMES order. */
  stats: number[];
  perCategory: Record<string, CocoCategoryResult>;
  /** [T, R, K, A, M] row-major, -1 where the setting has no gt (COCOeval.eval['precision']). */
  precision: Float64Array;
  /** [T, K, A, M] row-major (COCOeval.eval['recall']). */
  recall: Float64Array;
  params: CocoEvalParams;
  /** Inputs that pycocotools would have handled differently or refused; see the file comment. */
  warnings: string[];
}

/** numpy.linspace(start, stop, num, endpoint=True), bit for bit: i*step + start, last = stop. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

export function defaultCocoParams(iouType: CocoIouType = 'bbox'): CocoEvalParams {
  return {
    iouType,
    imgIds: [],
    catIds: [],
    // np.round((0.95 - .5) / .05) + 1 = 10 and np.round((1.00 - .0) / .01) + 1 = 101
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0 ** 2, 1e5 ** 2],
      [0 ** 2, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}

/** IoU of boxes [x, y, w, h] as maskApi.c bbIou: for a crowd gt the union is the detection's area. */
export function cocoBoxIou(dt: CocoBox, gt: CocoBox, gtIsCrowd: boolean): number {
  const w = Math.min(dt[2] + dt[0], gt[2] + gt[0]) - Math.max(dt[0], gt[0]);
  if (w <= 0) return 0;
  const h = Math.min(dt[3] + dt[1], gt[3] + gt[1]) - Math.max(dt[1], gt[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const da = dt[2] * dt[3];
  const union = gtIsCrowd ? da : da + gt[2] * gt[3] - inter;
  return inter / union;
}

/** Stable order of indices by descending score: numpy argsort(-scores, kind='mergesort'). */
function argsortDesc(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  // Array.prototype.sort is stable (ES2019), so ties keep their input order as mergesort does.
  idx.sort((a, b) => scores[b]! - scores[a]!);
  return idx;
}

/** numpy.searchsorted(sorted, v, side='left'): first index whose value >= v. */
function searchsortedLeft(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedUnique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

interface Gt {
  id: number;
  bbox: CocoBox;
  area: number;
  crowd: boolean;
  /** segm: the mask and its box (rleToBbox), which rleIou compares first. */
  mask?: Mask;
}

interface Dt {
  id: number;
  bbox: CocoBox;
  area: number;
  score: number;
  mask?: Mask;
}

interface Mask {
  rle: Rle;
  box: CocoBox;
}

const maskOf = (rle: Rle): Mask => ({ rle, box: rleToBbox(rle) });

/** maskApi.c rleIou for one pair: bbIou of the masks' boxes first, -1 across sizes. */
function segmIou(dt: Mask, gt: Mask, crowd: boolean): number {
  if (cocoBoxIou(dt.box, gt.box, crowd) <= 0) return 0;
  if (dt.rle.size[0] !== gt.rle.size[0] || dt.rle.size[1] !== gt.rle.size[1]) return -1;
  return rleIou(dt.rle, gt.rle, crowd);
}

/** One (image, category) pair: its gts, its score-sorted and truncated detections, their IoUs. */
interface Cell {
  gts: Gt[];
  dts: Dt[];
  /** [D, G], gts in input order. */
  ious: Float64Array;
  /** Index of dts[0] in the category's concatenation of detections. */
  offset: number;
}

/** Detection outcome at one IoU threshold, as accumulate() reads dtMatches / dtIgnore. */
const IGNORED = 0;
const TP = 1;
const FP = 2;

/**
 * COCOeval.evaluateImg for one cell and area range. Writes each detection's outcome per threshold
 * into state[t * stride + offset + d] and returns the number of non-ignored gts.
 */
function evaluateImg(
  cell: Cell,
  aRng: [number, number],
  iouThrs: number[],
  state: Uint8Array,
  stride: number,
): number {
  const { gts, dts, ious, offset } = cell;
  const G = gts.length;
  const D = dts.length;
  if (G === 0) {
    // nothing to match (most cells): an FP unless outside the area range
    for (let d = 0; d < D; d++) {
      const out = dts[d]!.area < aRng[0] || dts[d]!.area > aRng[1];
      for (let t = 0; t < iouThrs.length; t++) state[t * stride + offset + d] = out ? IGNORED : FP;
    }
    return 0;
  }
  // Ignored gts last, stable (mergesort): regular ones in input order, then ignored ones.
  const gtind: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let g = 0; g < G; g++) {
      const gt = gts[g]!;
      const ig = gt.crowd || gt.area < aRng[0] || gt.area > aRng[1] ? 1 : 0;
      if (ig === pass) gtind.push(g);
    }
  }
  const gtIg: number[] = [];
  const crowd: boolean[] = [];
  const gtId: number[] = [];
  let npig = 0;
  for (const g of gtind) {
    const gt = gts[g]!;
    const ig = gt.crowd || gt.area < aRng[0] || gt.area > aRng[1] ? 1 : 0;
    gtIg.push(ig);
    crowd.push(gt.crowd);
    gtId.push(gt.id);
    if (ig === 0) npig++;
  }
  const dtOut: boolean[] = [];
  for (const d of dts) dtOut.push(d.area < aRng[0] || d.area > aRng[1]);
  // plain array: allocating a typed array per cell costs more than the matching itself
  const gtMatched: number[] = new Array<number>(G).fill(0);
  for (let t = 0; t < iouThrs.length; t++) {
    gtMatched.fill(0);
    for (let d = 0; d < D; d++) {
      let iou = Math.min(iouThrs[t]!, 1 - 1e-10);
      let m = -1;
      for (let g = 0; g < G; g++) {
        // a matched gt is skipped unless it is a crowd region
        if (gtMatched[g] && !crowd[g]) continue;
        // once matched to a regular gt, stop at the first ignored one (they are sorted last)
        if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
        const v = ious[d * G + gtind[g]!]!;
        if (v < iou) continue;
        iou = v;
        m = g;
      }
      // pycocotools records the gt id and later reads "id != 0" as "matched"
      const matched = m > -1 && gtId[m] !== 0;
      let ignored = m > -1 && gtIg[m] === 1;
      if (m > -1) gtMatched[m] = 1;
      // unmatched detections outside the area range are ignored
      if (!matched && dtOut[d]) ignored = true;
      state[t * stride + offset + d] = ignored ? IGNORED : matched ? TP : FP;
    }
  }
  return npig;
}

function meanAboveMinusOne(values: Iterable<number>): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

export function evaluateCoco(
  gt: CocoDataset,
  dets: CocoDetection[],
  opts: CocoEvalOptions = {},
): CocoEvalResult {
  const warnings: string[] = [];
  const segm = (opts.iouType ?? 'bbox') === 'segm';
  const p = defaultCocoParams(opts.iouType);
  p.imgIds = sortedUnique(opts.imgIds ?? gt.images.map((im) => im.id));
  p.catIds = sortedUnique(opts.catIds ?? gt.categories.map((c) => c.id));
  const { iouThrs, recThrs, areaRng } = p;
  const maxDets = p.maxDets;
  const maxDetLast = maxDets[maxDets.length - 1]!;
  const imgIndex = new Map(p.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(p.catIds.map((id, k) => [id, k]));
  const I = p.imgIds.length;
  const K = p.catIds.length;
  const T = iouThrs.length;
  const R = recThrs.length;
  const A = areaRng.length;
  const M = maxDets.length;

  // ---- ground truth, as COCO.createIndex + getAnnIds + loadAnns see it
  const annById = new Map<number, CocoAnnotation>();
  let duplicateIds = 0;
  for (const ann of gt.annotations) {
    if (annById.has(ann.id)) duplicateIds++;
    annById.set(ann.id, ann);
  }
  if (duplicateIds > 0) {
    warnings.push(
      `${duplicateIds} ground-truth annotations reuse an id; as in pycocotools each resolves to the last annotation with that id`,
    );
  }
  const gtImageIds = new Set(gt.images.map((im) => im.id));
  const orphanGts = gt.annotations.filter((a) => !gtImageIds.has(a.image_id)).length;
  if (orphanGts > 0)
    warnings.push(
      `${orphanGts} ground-truth annotations refer to images not in the image list: not evaluated`,
    );
  // cell (image i, category k) -> gts. getAnnIds walks the sorted image ids and each image's
  // annotations in file order, filters on the category, and loadAnns resolves every id.
  const imgToAnns = new Map<number, CocoAnnotation[]>();
  for (const ann of gt.annotations) {
    const list = imgToAnns.get(ann.image_id);
    if (list) list.push(ann);
    else imgToAnns.set(ann.image_id, [ann]);
  }
  // sparse: most (image, category) pairs are empty, and I*K can be large (LVIS)
  const gtCells = new Map<number, Gt[]>();
  const push = <V>(cells: Map<number, V[]>, key: number, v: V) => {
    const list = cells.get(key);
    if (list) list.push(v);
    else cells.set(key, [v]);
  };
  let missingArea = 0;
  let zeroIdGts = 0;
  // segm: image sizes for rasterising polygons (annToRLE reads them from the image entry)
  const imageSize = new Map(gt.images.map((im) => [im.id, [im.height, im.width] as const]));
  const sizeOf = (imageId: number, what: string): [number, number] => {
    const [h, w] = imageSize.get(imageId) ?? [];
    if (!(typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0))
      throw new Error(
        `segm evaluation: image ${imageId} has no width and height (needed to rasterise ${what})`,
      );
    return [h, w];
  };
  let gtWithoutMask = 0;
  let badGtMasks = 0;
  const gtMask = (ann: CocoAnnotation): Mask => {
    const seg = ann.segmentation;
    if (seg === undefined || (Array.isArray(seg) && seg.length === 0)) {
      gtWithoutMask++;
      return maskOf(boxToRle(ann.bbox, ...sizeOf(ann.image_id, `the box of annotation ${ann.id}`)));
    }
    // A polygon needs its image's size: a missing one stops the evaluation (sizeOf throws), while a
    // broken mask is only counted.
    const size = Array.isArray(seg) ? sizeOf(ann.image_id, `annotation ${ann.id}`) : null;
    try {
      // an RLE keeps its own size (a size unlike the detections' gives IoU -1, as in pycocotools)
      return maskOf(Array.isArray(seg) ? segmentationToRle(seg, ...size!) : toPlainRle(seg));
    } catch {
      badGtMasks++;
      const [h, w] = imageSize.get(ann.image_id) ?? [0, 0];
      return maskOf({ size: [h ?? 0, w ?? 0], counts: [(h ?? 0) * (w ?? 0)] });
    }
  };
  const refs = p.imgIds.flatMap((id) => imgToAnns.get(id) ?? []);
  for (const ref of refs) {
    if (!catIndex.has(ref.category_id)) continue;
    const ann = annById.get(ref.id)!;
    const k = catIndex.get(ann.category_id);
    const i2 = imgIndex.get(ann.image_id);
    if (k === undefined || i2 === undefined) continue;
    let area = ann.area;
    if (typeof area !== 'number' || !Number.isFinite(area)) {
      area = ann.bbox[2] * ann.bbox[3];
      missingArea++;
    }
    if (ann.id === 0) zeroIdGts++;
    push(gtCells, i2 * K + k, {
      id: ann.id,
      bbox: ann.bbox,
      area,
      crowd: Boolean(ann.iscrowd),
      ...(segm ? { mask: gtMask(ann) } : {}),
    });
  }
  if (segm && gtWithoutMask > 0 && gtWithoutMask === refs.length)
    throw new Error(
      `segm evaluation needs instance masks: none of the ${refs.length} evaluated ground-truth annotations has a segmentation`,
    );
  if (gtWithoutMask > 0)
    warnings.push(
      `${gtWithoutMask} ground-truth annotations have no segmentation: their box is used as their mask (pycocotools would fail)`,
    );
  if (badGtMasks > 0)
    warnings.push(`${badGtMasks} ground-truth annotations have a malformed RLE: evaluated as empty masks`);
  if (missingArea > 0)
    warnings.push(`${missingArea} ground-truth annotations have no numeric area: used w*h of the box`);
  if (zeroIdGts > 0) {
    warnings.push(
      `${zeroIdGts} ground-truth annotations have id 0: pycocotools (and this evaluator, to match it) never counts them as matched`,
    );
  }

  // ---- detections, as COCO.loadRes builds them
  const dtCells = new Map<number, Dt[]>();
  let unknownImage = 0;
  let unknownCat = 0;
  let badScore = 0;
  let dtWithoutMask = 0;
  let badDtMasks = 0;
  const dtMask = (det: CocoDetection): Mask => {
    if (!det.segmentation) {
      dtWithoutMask++;
      return maskOf(boxToRle(det.bbox, ...sizeOf(det.image_id, 'a detection without a mask')));
    }
    try {
      return maskOf(toPlainRle(det.segmentation));
    } catch {
      badDtMasks++;
      return maskOf({ size: [0, 0], counts: [] });
    }
  };
  dets.forEach((det, n) => {
    if (!gtImageIds.has(det.image_id)) {
      unknownImage++;
      return;
    }
    if (!Number.isFinite(det.score)) {
      badScore++;
      return;
    }
    const i = imgIndex.get(det.image_id);
    const k = catIndex.get(det.category_id);
    if (k === undefined && !opts.catIds) unknownCat++;
    // cells keep input order per image, as getAnnIds on the results does
    if (i === undefined || k === undefined) return;
    const mask = segm ? dtMask(det) : undefined;
    push(dtCells, i * K + k, {
      id: n + 1,
      bbox: det.bbox,
      // loadRes: w*h of the box for box results, the mask's area for mask results
      area: mask && !opts.dtAreaFromBox ? rleArea(mask.rle) : det.bbox[2] * det.bbox[3],
      score: det.score,
      ...(mask ? { mask } : {}),
    });
  });
  if (dtWithoutMask > 0)
    warnings.push(
      `${dtWithoutMask} detections have no segmentation: their box is used as their mask (as loadRes does)`,
    );
  if (badDtMasks > 0) warnings.push(`${badDtMasks} detections have a malformed RLE: they match nothing`);
  if (unknownImage > 0) {
    warnings.push(
      `${unknownImage} detections are on images not in the ground truth (pycocotools refuses them): dropped`,
    );
  }
  if (unknownCat > 0)
    warnings.push(`${unknownCat} detections have a category not in the ground truth: not evaluated`);
  if (badScore > 0) warnings.push(`${badScore} detections have a non-finite score: dropped`);

  // ---- evaluate() + accumulate(), one category at a time so that memory stays per category.
  // Detections are concatenated in image-id order, each image's list sorted by score and cut at
  // maxDets[-1]; `rank` is the position within the image, so the cut at a smaller maxDet is
  // "rank < maxDet". Sorting the whole concatenation once (stably) and skipping ranks >= maxDet gives
  // the same order as pycocotools' stable sort of each truncated concatenation.
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    const cells: Cell[] = [];
    let total = 0;
    for (let i = 0; i < I; i++) {
      const gts = gtCells.get(i * K + k) ?? [];
      const all = dtCells.get(i * K + k) ?? [];
      if (gts.length === 0 && all.length === 0) continue;
      const dts = argsortDesc(all.map((d) => d.score))
        .slice(0, maxDetLast)
        .map((j) => all[j]!);
      const G = gts.length;
      const ious = new Float64Array(dts.length * G);
      for (let d = 0; d < dts.length; d++) {
        for (let g = 0; g < G; g++) {
          const dt = dts[d]!;
          const gt = gts[g]!;
          ious[d * G + g] = segm
            ? segmIou(dt.mask!, gt.mask!, gt.crowd)
            : cocoBoxIou(dt.bbox, gt.bbox, gt.crowd);
        }
      }
      cells.push({ gts, dts, ious, offset: total });
      total += dts.length;
    }
    if (cells.length === 0) continue;
    const scores = new Float64Array(total);
    const rank = new Int32Array(total);
    for (const c of cells) {
      c.dts.forEach((d, j) => {
        scores[c.offset + j] = d.score;
        rank[c.offset + j] = j;
      });
    }
    const order = argsortDesc(scores);
    const state = new Uint8Array(T * total);
    const rc = new Float64Array(total);
    const pr = new Float64Array(total);
    for (let a = 0; a < A; a++) {
      let npig = 0;
      for (const c of cells) npig += evaluateImg(c, areaRng[a]!, iouThrs, state, total);
      if (npig === 0) continue; // stays -1: no gt for this category and area
      for (let m = opts.lastMaxDetOnly ? M - 1 : 0; m < M; m++) {
        const maxDet = maxDets[m]!;
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          let nd = 0;
          for (const j of order) {
            if (rank[j]! >= maxDet) continue;
            const st = state[t * total + j];
            if (st === TP) tp++;
            else if (st === FP) fp++;
            rc[nd] = tp / npig;
            pr[nd] = tp / (fp + tp + Number.EPSILON); // np.spacing(1)
            nd++;
          }
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1]! : 0;
          // precision envelope: non-increasing from the right
          for (let j = nd - 1; j > 0; j--) if (pr[j]! > pr[j - 1]!) pr[j - 1] = pr[j]!;
          const rcView = rc.subarray(0, nd);
          for (let r = 0; r < R; r++) {
            const pi = searchsortedLeft(rcView, recThrs[r]!);
            // pycocotools leaves q at 0 once the index runs past the last detection
            precision[(((t * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi]! : 0;
          }
        }
      }
    }
  }

  // ---- summarize()
  const areaIdx = (lbl: CocoAreaLabel) => p.areaRngLbl.indexOf(lbl);
  const maxDetIdx = (md: number) => maxDets.indexOf(md as 1);
  function summarize(ap: boolean, iouThr?: number, area: CocoAreaLabel = 'all', md = 100): number {
    const a = areaIdx(area);
    const m = maxDetIdx(md);
    // np.where(iouThr == p.iouThrs): exact float equality, as pycocotools does
    const ts =
      iouThr === undefined ? iouThrs.map((_, t) => t) : iouThrs.flatMap((v, t) => (v === iouThr ? [t] : []));
    const values: number[] = [];
    for (const t of ts) {
      for (let k = 0; k < K; k++) {
        if (ap) for (let r = 0; r < R; r++) values.push(precision[(((t * R + r) * K + k) * A + a) * M + m]!);
        else values.push(recall[((t * K + k) * A + a) * M + m]!);
      }
    }
    return meanAboveMinusOne(values);
  }
  const [md0, md1, md2] = maxDets;
  const stats = [
    summarize(true),
    summarize(true, 0.5, 'all', md2),
    summarize(true, 0.75, 'all', md2),
    summarize(true, undefined, 'small', md2),
    summarize(true, undefined, 'medium', md2),
    summarize(true, undefined, 'large', md2),
    summarize(false, undefined, 'all', md0),
    summarize(false, undefined, 'all', md1),
    summarize(false, undefined, 'all', md2),
    summarize(false, undefined, 'small', md2),
    summarize(false, undefined, 'medium', md2),
    summarize(false, undefined, 'large', md2),
  ];

  // ---- per category: the same means restricted to one k (area all, 100 detections)
  const perCategory: Record<string, CocoCategoryResult> = {};
  const names = new Map<number, string>();
  for (const c of gt.categories) if (!names.has(c.id)) names.set(c.id, c.name);
  const a0 = areaIdx('all');
  const mLast = M - 1;
  const t50 = iouThrs.indexOf(0.5);
  for (let k = 0; k < K; k++) {
    const id = p.catIds[k]!;
    const values = (ts: number[]) => {
      const out: number[] = [];
      for (const t of ts)
        for (let r = 0; r < R; r++) out.push(precision[(((t * R + r) * K + k) * A + a0) * M + mLast]!);
      return out;
    };
    let numGt = 0;
    for (let i = 0; i < I; i++) for (const g of gtCells.get(i * K + k) ?? []) if (!g.crowd) numGt++;
    let key = names.get(id) ?? String(id);
    if (key in perCategory) key = `${key} (id ${id})`;
    perCategory[key] = {
      id,
      ap: meanAboveMinusOne(values(iouThrs.map((_, t) => t))),
      ap50: meanAboveMinusOne(values([t50])),
      numGt,
    };
  }

  return { stats, perCategory, precision, recall, params: p, warnings };
}

/** The 12 summary lines as COCOeval.summarize() prints them. */
export function formatCocoStats(stats: number[]): string {
  const rows: [string, string, string, number][] = [
    ['Precision', '0.50:0.95', 'all', 100],
    ['Precision', '0.50', 'all', 100],
    ['Precision', '0.75', 'all', 100],
    ['Precision', '0.50:0.95', 'small', 100],
    ['Precision', '0.50:0.95', 'medium', 100],
    ['Precision', '0.50:0.95', 'large', 100],
    ['Recall', '0.50:0.95', 'all', 1],
    ['Recall', '0.50:0.95', 'all', 10],
    ['Recall', '0.50:0.95', 'all', 100],
    ['Recall', '0.50:0.95', 'small', 100],
    ['Recall', '0.50:0.95', 'medium', 100],
    ['Recall', '0.50:0.95', 'large', 100],
  ];
  return rows
    .map(([kind, iou, area, md], j) => {
      const title = `Average ${kind}`.padEnd(18);
      const type = kind === 'Precision' ? '(AP)' : '(AR)';
      return `${title} ${type} @[ IoU=${iou.padEnd(9)} | area=${area.padStart(6)} | maxDets=${String(md).padStart(3)} ] = ${stats[j]!.toFixed(3)}`;
    })
    .join('\n');
}
