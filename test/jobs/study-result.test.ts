/**
 * A study's table from what its fine-tunes recorded, without training: hand-built val ground truth
 * and detections in each run's folder, evaluations recorded through the fine-tune path
 * (recordFinetuneEvaluation, so the store's `segm_AP`, … are what the studio stores). A mask
 * detector's study gets mask AP, AP50 and AP75 rows (recorded numbers, bootstrapped from its val
 * masks); a box detector's does not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scoreDetections } from '../../src-main/engine/detection/evaluate';
import { encodeMask } from '../../src-main/engine/data/masks/rle';
import type { CocoDataset, CocoDetection } from '../../src-main/engine/eval/coco-types';
import { recordFinetuneEvaluation } from '../../src-main/jobs/finetune-record';
import { computeStudyResult, STUDY_METRICS, studyCsv } from '../../src-main/jobs/study/study-result';
import { openStore, type ExperimentStore } from '../../src-main/store';
import { removeTempDir, tempDir } from '../temp-dir';

const SIZE = 16;
const IMAGES = 6;
const ARMS = ['random', 'byol'];
const SEEDS = [0, 1];

/** Each val image holds one 10×10 square at (2, 2); its mask is the square. */
const GT: CocoDataset = {
  images: Array.from({ length: IMAGES }, (_, i) => ({
    id: i + 1,
    file_name: `${i}.png`,
    width: SIZE,
    height: SIZE,
  })),
  annotations: Array.from({ length: IMAGES }, (_, i) => ({
    id: i + 1,
    image_id: i + 1,
    category_id: 1,
    bbox: [2, 2, 10, 10],
    area: 100,
    iscrowd: 0,
    segmentation: [[2, 2, 12, 2, 12, 12, 2, 12]],
  })),
  categories: [{ id: 1, name: 'square' }],
};

/** A mask of the square's first `columns` columns (mask IoU columns / 10 with the ground truth). */
function squareColumns(columns: number): CocoDetection['segmentation'] {
  const data = new Uint8Array(SIZE * SIZE);
  for (let y = 2; y < 12; y++) for (let x = 2; x < 2 + columns; x++) data[y * SIZE + x] = 1;
  const rle = encodeMask({ height: SIZE, width: SIZE, data });
  return { size: rle.size, counts: rle.counts };
}

/**
 * Every arm finds every box exactly (box AP 100); byol's masks are whole, random's are whole on
 * even images and 6 of 10 columns (IoU 0.6: an AP50 hit, an AP75 miss) on odd ones.
 */
function detections(arm: string, seed: number, withMasks: boolean): CocoDetection[] {
  return GT.images.map((im, i) => ({
    image_id: im.id,
    category_id: 1,
    bbox: [2, 2, 10, 10],
    score: 0.9 - 0.01 * seed,
    ...(withMasks ? { segmentation: squareColumns(arm === 'byol' || i % 2 === 0 ? 10 : 6) } : {}),
  }));
}

let home: string | null = null;
afterEach(() => {
  if (home) removeTempDir(home);
  home = null;
});

function tabulate(store: ExperimentStore, detector: 'mask-rcnn' | 'faster-rcnn') {
  home = tempDir('selfemd-study-result-');
  const datasetId = store.createDataset({
    name: 'val',
    kind: 'coco',
    path: path.join(home, 'val.json'),
    imageCount: IMAGES,
    annotationCount: IMAGES,
    categories: [{ id: 1, name: 'square' }],
  }).id;
  const config = {
    arms: ARMS.map((name) => ({ name })),
    seeds: SEEDS,
    finetune: { detector },
    bootstrap: { replicates: 40, seed: 5 },
  };
  const study = store.createStudy({
    name: 'masks',
    config,
    arms: ARMS,
    seeds: SEEDS.length,
    budget: 'smoke',
  });
  const folders = new Map<string, string>();
  for (const arm of ARMS)
    for (const seed of SEEDS) {
      const run = store.createRun({
        kind: 'finetune',
        name: `${arm}-${seed}`,
        method: detector,
        backbone: 'resnet18',
        config: {},
      });
      const dir = path.join(home, run.id);
      fs.mkdirSync(dir);
      folders.set(run.id, dir);
      const dets = detections(arm, seed, detector === 'mask-rcnn');
      fs.writeFileSync(path.join(dir, 'val_gt.json'), JSON.stringify(GT));
      fs.writeFileSync(path.join(dir, 'val_detections.json'), JSON.stringify(dets));
      // what a fine-tune's last evaluation records (a mask detector's carries segm_AP, …)
      const evaluation = scoreDetections({ coco: GT }, dets);
      recordFinetuneEvaluation(store, { runId: run.id, datasetId, step: 4, evaluation });
      store.linkStudyRun({ studyId: study.id, runId: run.id, arm, role: 'finetune', seed });
      store.addStudyProbe({
        studyId: study.id,
        arm,
        seed,
        stats: { linearTop1: 0.5, knnTop1: 0.5, majorityTop1: 0.5 },
        boxes: { imageIds: GT.images.map((im) => im.id), linearCorrect: GT.images.map((_, i) => i % 2) },
      });
    }
  return computeStudyResult(store, study, (id) => folders.get(id)!, path.join(home, 'out'));
}

describe('a study’s result table', () => {
  it('has mask AP, AP50 and AP75 rows for a mask detector: recorded numbers, bootstrapped differences', () => {
    const store = openStore(':memory:');
    const result = tabulate(store, 'mask-rcnn');
    expect(result.rows.map((r) => r.metric)).toEqual([
      ...['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'VOC AP50'],
      ...['mask AP', 'mask AP50', 'mask AP75', 'probe'],
    ]);
    const mean = (metric: string, arm: string) =>
      result.rows.find((r) => r.metric === metric)!.arms.find((a) => a.arm === arm)!.mean;
    // the boxes are perfect in both arms; the masks are not in random's
    expect(mean('AP', 'random')).toBeCloseTo(100, 6);
    expect(mean('mask AP50', 'random')).toBeCloseTo(100, 6);
    expect(mean('mask AP75', 'byol')).toBeCloseTo(100, 6);
    // random's masks: half the images at IoU 0.6 — a hit at 0.50…0.60, a miss from 0.65 on
    const randomRun = store.studyRuns(result.studyId).find((l) => l.arm === 'random')!.runId;
    const recorded = store.listEvaluations(randomRun).find((e) => e.kind === 'coco')!.stats;
    expect(recorded.segm_AP75).toBeLessThan(1);
    expect(mean('mask AP75', 'random')).toBeCloseTo(100 * recorded.segm_AP75!, 6);
    expect(mean('mask AP', 'random')!).toBeLessThan(mean('mask AP', 'byol')!);
    const d = result.rows
      .find((r) => r.metric === 'mask AP75')!
      .differences.find((x) => x.arm === 'byol' && x.reference === 'random')!;
    // resampled masks: byol's AP75 is 100 in every draw, random's below whenever an odd image is drawn
    expect(d.estimate).toBeGreaterThan(0);
    expect(d.low).toBeGreaterThanOrEqual(0);
    expect(d.text).toMatch(/^byol − random: \+\d+\.\d mask AP75 \[/);
    expect(studyCsv(result)).toMatch(/\n"mask AP50","random",100\.0000,/);
    expect(fs.readFileSync(result.files.markdown, 'utf8')).toContain('## mask AP75');
    store.close();
  });

  it('has box rows only for a box detector', () => {
    const store = openStore(':memory:');
    const result = tabulate(store, 'faster-rcnn');
    expect(result.rows.map((r) => r.metric)).toEqual([...STUDY_METRICS]);
    store.close();
  });
});
