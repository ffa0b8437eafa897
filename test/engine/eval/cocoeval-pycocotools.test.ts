/**
 * The COCO evaluator against pycocotools' numbers, on seeded random data: a few hundred gt boxes with
 * crowd regions, gt areas that differ from w*h, boxes on the 32² / 96² boundaries, score ties, an
 * image with more than 100 detections, a category without gt, images without gts or without dets,
 * and (seed 3) a gt with id 0 and a reused gt id.
 *
 * The comparison runs everywhere against fixtures/cocoeval-reference.json (its `provenance` says who
 * made the numbers). Where pycocotools can be imported the live check also runs: pycocotools must
 * agree with our evaluator and with the fixture, and `SELFEMD_UPDATE_FIXTURES=1` rewrites the fixture
 * from pycocotools. CI cannot install pycocotools (Debian does not package it and pip has no index
 * there), so the live check skips with one line even under CI=true; a small hand-derived case below
 * pins the numbers independently of any implementation.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateCoco, type CocoEvalResult } from '../../../src-main/engine/eval/cocoeval';
import type { CocoDataset, CocoDetection } from '../../../src-main/engine/eval/coco-types';
import { makeData } from './cocoeval-random-data';
import { digest, findPycocotools } from './pycocotools-live';
import { removeTempDir, tempDir } from '../../temp-dir';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cocoeval-reference.json');
const SEEDS = [1, 2, 3];

const { python, skipReason } = findPycocotools(
  'live pycocotools cross-check (the frozen-reference check still runs)',
);

const runner = `
import json, sys, io, contextlib
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
gt_path, dt_path = sys.argv[1], sys.argv[2]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    E = COCOeval(gt, dt, 'bbox')
    E.evaluate(); E.accumulate(); E.summarize()
prec = E.eval['precision']
per = {}
for k, cid in enumerate(E.params.catIds):
    s = prec[:, :, k, 0, -1]; s50 = prec[0, :, k, 0, -1]
    per[str(cid)] = [float(s[s > -1].mean()) if (s > -1).any() else -1, float(s50[s50 > -1].mean()) if (s50 > -1).any() else -1]
print(json.dumps({'stats': [float(x) for x in E.stats], 'per': per,
                  'precision': prec.ravel().tolist(), 'recall': E.eval['recall'].ravel().tolist()}))
`;

/** What the fixture keeps per seed: the 12 stats, per-category AP/AP50 and digests of the arrays. */
interface Reference {
  stats: number[];
  per: Record<string, [number, number]>;
  /** [count, sum, index-weighted sum] of COCOeval.eval['precision'] and ['recall'], row-major. */
  precision: [number, number, number];
  recall: [number, number, number];
}
interface Fixture {
  provenance: string;
  seeds: Record<string, Reference>;
}

function reference(
  r: Pick<CocoEvalResult, 'stats' | 'precision' | 'recall'>,
  per: Reference['per'],
): Reference {
  return { stats: [...r.stats], per, precision: digest(r.precision), recall: digest(r.recall) };
}
const ourPer = (e: CocoEvalResult, gt: CocoDataset): Reference['per'] =>
  Object.fromEntries(
    gt.categories.map((c) => {
      const mine = Object.values(e.perCategory).find((r) => r.id === c.id)!;
      return [String(c.id), [mine.ap, mine.ap50]];
    }),
  );

function expectMatches(actual: Reference, want: Reference, what: string): void {
  for (let j = 0; j < 12; j++)
    expect(Math.abs(actual.stats[j]! - want.stats[j]!), `${what} stat ${j}`).toBeLessThan(1e-9);
  for (const [id, [ap, ap50]] of Object.entries(want.per)) {
    expect(actual.per[id]![0], `${what} category ${id} AP`).toBeCloseTo(ap, 9);
    expect(actual.per[id]![1], `${what} category ${id} AP50`).toBeCloseTo(ap50, 9);
  }
  for (const key of ['precision', 'recall'] as const) {
    expect(actual[key][0], `${what} ${key} size`).toBe(want[key][0]);
    for (const k of [1, 2])
      expect(Math.abs(actual[key][k]! - want[key][k]!), `${what} ${key} digest`).toBeLessThan(
        1e-9 * Math.max(1, Math.abs(want[key][k]!)),
      );
  }
}

describe('evaluateCoco on a hand-derived case', () => {
  it('two large gts, detections TP 0.9, FP 0.8, TP 0.7', () => {
    // Every match is exact (IoU 1), so all 10 IoU thresholds agree. Sorted by score the detections
    // are TP, FP, TP: recall 0.5, 0.5, 1 and precision 1, 1/2, 2/3, whose envelope is 1, 2/3, 2/3.
    // The 51 recall points 0.00..0.50 read 1 and the 50 points 0.51..1.00 read 2/3:
    // AP = (51 + 50·2/3) / 101. Both gts are large (10 000 px² > 96²): small and medium have no gt
    // (-1), large equals all. AR@1 keeps only the 0.9 detection: recall 1/2; AR@10 = AR@100 = 1.
    const gt: CocoDataset = {
      images: [{ id: 1, width: 640, height: 480 }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 100, 100], area: 10_000, iscrowd: 0 },
        { id: 2, image_id: 1, category_id: 1, bbox: [200, 200, 100, 100], area: 10_000, iscrowd: 0 },
      ],
      categories: [{ id: 1, name: 'thing' }],
    };
    const dets: CocoDetection[] = [
      { image_id: 1, category_id: 1, bbox: [0, 0, 100, 100], score: 0.9 },
      { image_id: 1, category_id: 1, bbox: [400, 300, 100, 100], score: 0.8 },
      { image_id: 1, category_id: 1, bbox: [200, 200, 100, 100], score: 0.7 },
    ];
    const ap = (51 + (50 * 2) / 3) / 101;
    const want = [ap, ap, ap, -1, -1, ap, 0.5, 1, 1, -1, -1, 1];
    const ours = evaluateCoco(gt, dets).stats;
    want.forEach((v, j) => expect(ours[j], `stat ${j}`).toBeCloseTo(v, 12));
  });
});

describe('evaluateCoco against the frozen reference', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
  it('covers every seed and says where its numbers come from', () => {
    expect(Object.keys(fixture.seeds)).toEqual(SEEDS.map(String));
    expect(fixture.provenance).toMatch(/\S{20}/);
  });
  for (const seed of SEEDS) {
    it(`reproduces the 12 stats, per-category AP and the precision/recall arrays (seed ${seed})`, () => {
      const { gt, dets } = makeData(seed);
      // the data must exercise what it claims to: non-trivial, not saturated
      expect(gt.annotations.length).toBeGreaterThan(200);
      expect(dets.length).toBeGreaterThan(400);
      const e = evaluateCoco(gt, dets);
      expect(e.stats[0]).toBeGreaterThan(0.05);
      expect(e.stats[0]).toBeLessThan(0.95);
      expect(e.perCategory['never-labelled']!.ap).toBe(-1);
      expectMatches(reference(e, ourPer(e, gt)), fixture.seeds[String(seed)]!, `seed ${seed}`);
    });
  }
});

describe.skipIf(Boolean(skipReason))('evaluateCoco vs pycocotools, live', () => {
  const dir = skipReason ? '' : tempDir('cocoeval-x-');
  afterAll(() => {
    if (dir) removeTempDir(dir);
  });
  const live: Fixture = {
    provenance:
      'pycocotools COCOeval on makeData(seed) (test/engine/eval/cocoeval-pycocotools.test.ts with SELFEMD_UPDATE_FIXTURES=1)',
    seeds: {},
  };

  for (const seed of SEEDS) {
    it(`pycocotools agrees with ours to rounding and with the fixture (seed ${seed})`, () => {
      const { gt, dets } = makeData(seed);
      const gtPath = join(dir, `gt-${seed}.json`);
      const dtPath = join(dir, `dt-${seed}.json`);
      writeFileSync(gtPath, JSON.stringify(gt));
      writeFileSync(dtPath, JSON.stringify(dets));
      const out = spawnSync(python, ['-c', runner, gtPath, dtPath], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(out.status, out.stderr).toBe(0);
      const ref = JSON.parse(out.stdout) as {
        stats: number[];
        per: Record<string, [number, number]>;
        precision: number[];
        recall: number[];
      };
      const ours = evaluateCoco(gt, dets);
      // Stronger than the stats: the whole [T,R,K,A,M] array agrees to rounding.
      expect(ours.precision.length).toBe(ref.precision.length);
      let maxDiff = 0;
      ref.precision.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ours.precision[i]!))));
      ref.recall.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ours.recall[i]!))));
      expect(maxDiff).toBeLessThan(1e-12);
      const theirs = reference(ref as unknown as CocoEvalResult, ref.per);
      expectMatches(reference(ours, ourPer(ours, gt)), theirs, `ours vs pycocotools, seed ${seed}`);
      live.seeds[String(seed)] = theirs;
      if (process.env.SELFEMD_UPDATE_FIXTURES === '1' && seed === SEEDS[SEEDS.length - 1])
        writeFileSync(FIXTURE, `${JSON.stringify(live, null, 1)}\n`);
      const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
      expectMatches(theirs, fixture.seeds[String(seed)]!, `pycocotools vs the fixture, seed ${seed}`);
    });
  }
});
