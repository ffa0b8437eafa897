/**
 * A study on tiny settings, driven as the studio drives one (StudyRunner on the RunManager, real
 * training processes on wasm): two arms (random, byol) × two seeds. A fine-tune's process is killed
 * after its first checkpoint; the study stops as interrupted, and resuming it continues that run from
 * its checkpoint without running again what had finished. The table's numbers are the runs' own
 * recorded evaluations and probes, and rescoring a run's val detections on the full val set (what
 * the bootstrap resamples) gives its recorded COCO and VOC numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, StudyResult } from '../../shared/dto';
import { scoreDetections } from '../../src-main/engine/detection/evaluate';
import type { CocoDataset, CocoDetection } from '../../src-main/engine/eval/coco-types';
import { CocoResampler } from '../../src-main/engine/eval/resample';
import { StudioService } from '../../src-main/jobs/studio-service';
import { tempHome } from '../server/fixtures';
import { tinyStudy } from './tiny-run';

let home: ReturnType<typeof tempHome>;
let service: StudioService;

beforeAll(() => {
  home = tempHome('selfemd-study-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test', seedDemos: false });
});

afterAll(async () => {
  await service.close();
  home.cleanup();
});

const REQUEST = tinyStudy(2, 2);

describe('a study of two arms and two seeds', () => {
  it('runs to the end, resumes after a kill without re-running finished runs, and tabulates the runs’ own numbers', async () => {
    const { store, manager } = service;
    const study = await service.studies.start(REQUEST);
    expect(study.arms).toEqual(['random', 'byol']);
    const plan = study.config as {
      sharedExceptMethodFields: boolean;
      steps: { pretrain: number; finetune: number };
    };
    expect(plan.sharedExceptMethodFields).toBe(true);
    expect(plan.steps).toEqual({ pretrain: 4, finetune: 4 });

    // Kill the second fine-tune (byol, seed 0) once it has a checkpoint: SIGKILL, as the OOM killer would.
    let killed: string | null = null;
    const off = manager.on((e) => {
      if (e.type !== 'checkpoint' || killed) return;
      const link = store.studyRuns(study.id).find((l) => l.runId === e.runId);
      if (link?.role === 'finetune' && link.arm === 'byol' && link.seed === 0) {
        killed = e.runId;
        process.kill(store.getRun(e.runId).pid!, 'SIGKILL');
      }
    });
    const stopped = await service.studies.wait(study.id);
    off();
    expect(killed).not.toBeNull();
    expect(stopped.status).toBe('interrupted');
    expect(store.getRun(killed!).status).toBe('interrupted');

    const before = new Map<string, RunRecord>(store.listRuns().map((r) => [r.id, r]));
    const finished = [...before.values()].filter((r) => r.status === 'completed');
    // byol's pretraining and random's seed-0 fine-tune had finished
    expect(finished.length).toBe(2);
    const lossPoints = (id: string) => store.getMetrics(id, ['loss/total'])[0]?.points.length ?? 0;
    const pointsBefore = new Map(finished.map((r) => [r.id, lossPoints(r.id)]));

    service.studies.resume(study.id);
    const done = await service.studies.wait(study.id);
    expect(done.status).toBe('completed');

    // Nothing finished ran again: the same runs, untouched; the killed one resumed (same id); no extra runs.
    const runs = store.listRuns();
    expect(runs.length).toBe(1 + 2 * 2);
    for (const r of finished) {
      const now = store.getRun(r.id);
      expect(now.finishedAt).toBe(r.finishedAt);
      expect(now.startedAt).toBe(r.startedAt);
      expect(lossPoints(r.id)).toBe(pointsBefore.get(r.id));
    }
    const links = store.studyRuns(study.id);
    expect(links.find((l) => l.arm === 'byol' && l.seed === 0)!.runId).toBe(killed);
    expect(store.getRun(killed!).status).toBe('completed');
    expect(lossPoints(killed!)).toBe(plan.steps.finetune);

    // The table's numbers are the runs' recorded evaluations and the probes.
    const result = done.result as unknown as StudyResult;
    const row = (metric: string) => result.rows.find((r) => r.metric === metric)!;
    for (const arm of ['random', 'byol'])
      for (const seed of [0, 1]) {
        const runId = links.find((l) => l.role === 'finetune' && l.arm === arm && l.seed === seed)!.runId;
        const evaluations = store.listEvaluations(runId);
        const coco = evaluations.find((e) => e.kind === 'coco')!;
        const voc = evaluations.find((e) => e.kind === 'voc')!;
        const cell = (metric: string) => row(metric).arms.find((a) => a.arm === arm)!.seeds[seed];
        for (const k of ['AP', 'AP50', 'AP75']) expect(cell(k)).toBeCloseTo(100 * coco.stats[k]!, 10);
        expect(cell('VOC AP50')).toBeCloseTo(100 * voc.stats.mAP!, 10);
        const probe = store.studyProbes(study.id).find((p) => p.arm === arm && p.seed === seed)!;
        expect(cell('probe')).toBeCloseTo(100 * probe.stats.linearTop1, 10);
        // the bootstrap's rescoring on the full val set is the run's own evaluation
        const dir = manager.trainingDir(runId);
        const gt = JSON.parse(fs.readFileSync(path.join(dir, 'val_gt.json'), 'utf8')) as CocoDataset;
        const dets = JSON.parse(
          fs.readFileSync(path.join(dir, 'val_detections.json'), 'utf8'),
        ) as CocoDetection[];
        const resampler = new CocoResampler(gt, dets);
        const all = resampler.draw(Int32Array.from(gt.images.keys()));
        const again = scoreDetections({ coco: all.gt }, all.dets);
        expect(again.stats[0]).toBeCloseTo(coco.stats.AP ?? -1, 10);
        expect(again.voc.mAP).toBeCloseTo(voc.stats.mAP!, 10);
      }
    const ap = row('AP');
    const byol = ap.arms.find((a) => a.arm === 'byol')!;
    const mean = (byol.seeds[0]! + byol.seeds[1]!) / 2;
    expect(byol.mean).toBeCloseTo(mean, 10);
    const diff = ap.differences.find((d) => d.arm === 'byol' && d.reference === 'random')!;
    expect(diff.estimate).toBeCloseTo(mean - ap.arms.find((a) => a.arm === 'random')!.mean!, 10);
    expect(diff.low).toBeLessThanOrEqual(diff.high);
    expect(diff.text).toMatch(
      /^byol − random: [+−]\d+\.\d AP \[[+−]\d+\.\d, [+−]\d+\.\d\], (not )?separable at this budget$/,
    );
    expect(fs.readFileSync(result.files.markdown, 'utf8')).toContain('## VOC AP50');
    expect(fs.readFileSync(result.files.csv, 'utf8').trim().split('\n').length).toBe(1 + 8 * 2);
    expect(JSON.parse(fs.readFileSync(result.files.json, 'utf8'))).toEqual(result);
  }, 600_000);
});
