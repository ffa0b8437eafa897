/**
 * A detector fine-tune started the way the studio starts one (StudioService → RunManager → a real
 * training process on wasm): a tiny Self-EMD pretraining run gives the backbone, a RetinaNet trains on
 * the demo train split and is evaluated on the demo val split. The run is killed after a checkpoint,
 * resumes from it to completion, and the store holds the run (kind finetune, its parent), every step's
 * loss, its checkpoints and a COCO and a VOC evaluation. A second, random-init fine-tune is paused at a
 * checkpoint and cancelled.
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finetuneSizeOverrides } from '../../shared/config/finetune';
import type { DatasetRecord, RunRecord } from '../../shared/dto';
import type { RunEvent } from '../../src-main/jobs/run-events';
import { StudioService } from '../../src-main/jobs/studio-service';
import { tempHome } from '../server/fixtures';
import { serviceCalls } from '../server/service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let train: DatasetRecord;
let val: DatasetRecord;
let parent: RunRecord;

const { call, refusal } = serviceCalls(() => service);

/** Resolves with the first RunManager event of `runId` that `pick` accepts. */
function when(runId: string, pick: (e: RunEvent) => boolean): Promise<RunEvent> {
  return new Promise((resolve) => {
    const off = service.manager.on((e) => {
      if (('runId' in e ? e.runId : e.run.id) === runId && pick(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/** Sizes a CPU trains in seconds: ResNet-18 of width 8 (the parent's), 64 px, 8 train / 4 val images. */
const TINY_DETECTOR = {
  detector: 'retinanet',
  backend: 'wasm',
  data: { demoSize: 64, ...finetuneSizeOverrides(64) },
  fpn: { channels: 8 },
  retinanet: { numConvs: 1 },
  optim: { epochs: 3, batchSize: 4, lr: 0.01 },
  checkpoint: { everySteps: 1 },
};

beforeAll(async () => {
  home = tempHome('selfemd-ft-run-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
  train = await call('datasets.addDemo', { count: 8, split: 'train' });
  val = await call('datasets.addDemo', { count: 4, split: 'val' });
  const started = await call('runs.start', {
    method: 'self-emd',
    datasetId: train.id,
    name: 'tiny self-emd',
    config: {
      backend: 'wasm',
      backbone: { name: 'resnet18', baseWidth: 8 },
      data: { imageSize: 64 },
      optim: { batchSize: 4, epochs: 1, warmupEpochs: 0.5, lr: 0.05 },
      byol: { projectorHidden: 32, projectionDim: 16, predictorHidden: 32 },
      emd: { scaleViewSize: 32 },
      checkpoint: { everySteps: 1 },
    },
  });
  parent = await service.manager.wait(started.id);
  expect(parent.status).toBe('completed');
}, 120_000);

afterAll(async () => {
  await service.close();
  home.cleanup();
});

describe('fine-tuning a detector from the studio', () => {
  it("trains from the parent's checkpoint, survives a kill, and records metrics, checkpoints and evaluations", async () => {
    const parentCkpt = service.store.lastCheckpoint(parent.id)!;
    expect(parentCkpt.step).toBe(2);
    const run = await call('runs.startFinetune', {
      init: 'parent',
      parentRunId: parent.id,
      trainDatasetId: train.id,
      valDatasetId: val.id,
      config: TINY_DETECTOR,
    });
    expect(run).toMatchObject({
      kind: 'finetune',
      method: 'retinanet',
      backbone: 'resnet18',
      parentRunId: parent.id,
      datasetId: val.id,
      trainDatasetId: train.id,
      status: 'running',
      totalSteps: 6,
      name: 'retinanet ← tiny self-emd',
    });
    const config = run.config as { init: { kind: string; path: string }; backbone: { baseWidth: number } };
    expect(config.init).toEqual({ kind: 'pretrain-run', path: parentCkpt.path });
    expect(config.backbone.baseWidth).toBe(8);

    // Kill the training process once two checkpoints are recorded: the run is interrupted.
    await when(run.id, (e) => e.type === 'checkpoint' && e.checkpoint.step >= 2);
    process.kill(service.store.getRun(run.id).pid!, 'SIGKILL');
    const killed = await service.manager.wait(run.id);
    expect(killed.status).toBe('interrupted');
    expect(killed.backend?.name).toBe('wasm');
    expect(service.store.lastCheckpoint(run.id)!.step).toBeGreaterThanOrEqual(2);

    const resumed = await call('runs.resume', { id: run.id });
    expect(resumed.status).toBe('running');
    const done = await service.manager.wait(run.id);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'completed', step: 6, totalSteps: 6, parentRunId: parent.id });

    // Every step has its loss (the resumed process re-logged the steps after its checkpoint).
    const [total, cls, box, ap, voc] = service.store.getMetrics(run.id, [
      'loss/total',
      'loss/loss_cls',
      'loss/loss_box_reg',
      'val/AP',
      'val/voc_mAP50',
    ]);
    expect(total!.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const p of total!.points) expect(Number.isFinite(p.value) && p.value > 0).toBe(true);
    expect(cls!.points).toHaveLength(6);
    expect(box!.points).toHaveLength(6);
    expect(ap!.points.map((p) => p.step)).toEqual([6]);
    expect(voc!.points.map((p) => p.step)).toEqual([6]);

    const last = service.store.lastCheckpoint(run.id)!;
    expect(last.step).toBe(6);
    expect(fs.existsSync(last.path)).toBe(true);

    const details = await call('runs.get', { id: run.id });
    const coco = details.evaluations.find((e) => e.kind === 'coco')!;
    const vocEval = details.evaluations.find((e) => e.kind === 'voc')!;
    expect(details.evaluations).toHaveLength(2);
    expect(coco).toMatchObject({ datasetId: val.id, checkpointStep: 6 });
    expect(vocEval).toMatchObject({ datasetId: val.id, checkpointStep: 6 });
    // The stats are the streamed val/* metrics, to the bit.
    expect(coco.stats.AP).toBe(ap!.points[0]!.value);
    expect(vocEval.stats.mAP).toBe(voc!.points[0]!.value);
    for (const k of ['AP', 'AP50', 'AP75']) expect(coco.stats[k]).toBeGreaterThanOrEqual(0);
    for (const v of Object.values(coco.stats)) expect(v).toBeLessThanOrEqual(1);
    expect(coco.perCategory.map((c) => c.name)).toEqual([
      'circle',
      'square',
      'triangle',
      'star',
      'ring',
      'cross',
    ]);
    expect(vocEval.perCategory.map((c) => c.name).sort()).toEqual([
      'circle',
      'cross',
      'ring',
      'square',
      'star',
      'triangle',
    ]);
    const log = details.log.map((l) => l.message).join('\n');
    expect(log).toContain(`backbone from "tiny self-emd" (self-emd), checkpoint of step 2`);
    expect(log).toMatch(/resumed from step \d/);
    // One line per status change: started, interrupted, resumed, completed.
    expect(details.log.map((l) => l.message).filter((m) => m.startsWith('status: '))).toEqual([
      'status: running',
      expect.stringMatching(/^status: interrupted/),
      'status: running',
      'status: completed',
    ]);
    expect(log).toMatch(/evaluation at step 6 recorded/);

    // The runs list shows it with its kind; the parent lists it as a child.
    const listed = (await call('runs.list', {})).find((r) => r.id === run.id)!;
    expect(listed.kind).toBe('finetune');
    expect(service.store.listRuns({ parentRunId: parent.id }).map((r) => r.id)).toEqual([run.id]);
    // Nothing to resume once completed.
    expect((await service.handle('runs.resume', { id: run.id })).ok).toBe(false);
  });

  it('a random-init fine-tune pauses at a checkpoint and cancels', async () => {
    const run = await call('runs.startFinetune', {
      init: 'random',
      trainDatasetId: train.id,
      valDatasetId: val.id,
      name: 'baseline detector',
      config: {
        ...TINY_DETECTOR,
        backbone: { name: 'resnet18', baseWidth: 8 },
        optim: { ...TINY_DETECTOR.optim, epochs: 10 },
      },
    });
    expect(run).toMatchObject({ kind: 'finetune', parentRunId: null, totalSteps: 20 });
    await when(run.id, (e) => e.type === 'progress' && e.progress.step >= 1);
    const paused = await call('runs.pause', { id: run.id });
    expect(paused.status).toBe('paused');
    expect(paused.step).toBeGreaterThanOrEqual(1);
    expect(paused.step).toBeLessThan(20);
    expect(service.store.lastCheckpoint(run.id)!.step).toBe(paused.step);
    expect(service.store.listEvaluations(run.id)).toEqual([]);
    const cancelled = await call('runs.cancel', { id: run.id });
    expect(cancelled.status).toBe('cancelled');
  });

  it('a Faster R-CNN fine-tune from the studio completes with its COCO and VOC evaluations', async () => {
    const run = await call('runs.startFinetune', {
      init: 'random',
      trainDatasetId: train.id,
      valDatasetId: val.id,
      name: 'faster r-cnn baseline',
      config: {
        ...TINY_DETECTOR,
        detector: 'faster-rcnn',
        backbone: { name: 'resnet18', baseWidth: 8 },
        roiHeads: { numFc: 1, fcDim: 16, poolerResolution: 3, batchSizePerImage: 32 },
        rpn: {
          batchSizePerImage: 32,
          preNmsTopkTrain: 64,
          postNmsTopkTrain: 32,
          preNmsTopkTest: 64,
          postNmsTopkTest: 32,
        },
        optim: { ...TINY_DETECTOR.optim, epochs: 1 },
      },
    });
    expect(run).toMatchObject({
      kind: 'finetune',
      method: 'faster-rcnn',
      trainDatasetId: train.id,
      totalSteps: 2,
    });
    await when(run.id, (e) => e.type === 'status' && !['queued', 'running'].includes(e.run.status));
    const done = service.store.getRun(run.id);
    expect(done.status).toBe('completed');
    const evaluations = service.store.listEvaluations(run.id);
    expect(evaluations.map((e) => e.kind).sort()).toEqual(['coco', 'voc']);
    expect(evaluations.every((e) => e.checkpointStep === 2)).toBe(true);
    const metrics = service.store.latestMetrics(run.id);
    for (const k of [
      'loss/total',
      'loss/loss_rpn_cls',
      'loss/loss_rpn_loc',
      'loss/loss_cls',
      'loss/loss_box_reg',
    ])
      expect(Object.keys(metrics)).toContain(k);
  }, 120_000);

  it('fine-tunes from an exported backbone file, linked to the run it came from', async () => {
    const exported = await call('exports.run', { runId: parent.id, format: 'safetensors' });
    // Destinations that cannot be: said at once, nothing written.
    const relative = await refusal('exports.run', {
      runId: parent.id,
      format: 'safetensors',
      outPath: 'x/b.safetensors',
    });
    expect(relative).toMatchObject({ code: 'invalid', message: 'x/b.safetensors is not an absolute path' });
    const t0 = Date.now();
    const noFolder = await refusal('exports.run', {
      runId: parent.id,
      format: 'safetensors',
      outPath: '/proc/nope/b.safetensors', // Node's recursive mkdir never returned here
    });
    expect(noFolder.message).toBe('cannot create the folder /proc/nope: ENOENT');
    expect(Date.now() - t0).toBeLessThan(5000);
    const bad = await call('runs.validateFinetune', {
      init: 'file',
      weightsPath: `${exported.path}.missing`,
      trainDatasetId: train.id,
      valDatasetId: val.id,
      config: TINY_DETECTOR,
    });
    expect(bad.issues.map((i) => i.path)).toEqual(['weightsPath']);
    expect(bad.issues[0]!.message).toMatch(/\.missing: no such file/);
    const run = await call('runs.startFinetune', {
      init: 'file',
      weightsPath: exported.path,
      trainDatasetId: train.id,
      valDatasetId: val.id,
      config: { ...TINY_DETECTOR, optim: { ...TINY_DETECTOR.optim, epochs: 1 } },
    });
    // The file's metadata decides the backbone and names its run, which becomes the parent.
    expect(run).toMatchObject({
      kind: 'finetune',
      parentRunId: parent.id,
      totalSteps: 2,
      name: 'retinanet ← tiny self-emd',
    });
    const config = run.config as {
      init: { kind: string; path: string };
      backbone: { name: string; baseWidth: number };
    };
    expect(config.init).toEqual({ kind: 'safetensors', path: exported.path });
    expect(config.backbone).toMatchObject({ name: 'resnet18', baseWidth: 8 });
    await when(run.id, (e) => e.type === 'status' && !['queued', 'running'].includes(e.run.status));
    expect(service.store.getRun(run.id).status).toBe('completed');
    expect(
      service.store
        .listEvaluations(run.id)
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['coco', 'voc']);
  }, 120_000);
});
