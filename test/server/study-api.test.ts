/**
 * The studies.* API without training: a request that cannot be a study is refused naming its field;
 * an estimate counts the runs and steps the budget plans and says the time is unknown until step
 * times of runs that size were measured here, then gives it from them. An estimate writes nothing:
 * its demo splits and paths not imported yet are read, not recorded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src-main/jobs/studio-service';
import { runShape } from '../../src-main/jobs/study/study-eta';
import type { StudyPlan } from '../../src-main/jobs/study/study-plan';
import { resolveStudyPlan } from '../../src-main/jobs/study/study-plan';
import { cocoDataset, imageFolder, tempHome } from './fixtures';
import { removeTempDir, tempDir } from '../temp-dir';
import { serviceCalls } from './service-calls';

const HERE = path.dirname(fileURLToPath(import.meta.url));
let home: ReturnType<typeof tempHome>;
let service: StudioService;
const { call, refusal } = serviceCalls(() => service);

beforeAll(() => {
  home = tempHome('selfemd-study-api-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test', seedDemos: false });
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

const demo = { unlabeled: 'demo', train: 'demo', val: 'demo' };

describe('studies API', () => {
  it('refuses an unknown arm, a single arm and a relative path, naming the field', async () => {
    const bad = await refusal('studies.start', {
      arms: ['random', 'bogus'],
      seeds: 2,
      budget: 'smoke',
      data: demo,
    });
    expect(bad.code).toBe('invalid');
    expect(bad.message).toMatch(/arm "bogus": not one of random, byol/);
    const one = await refusal('studies.start', { arms: ['random'], seeds: 2, budget: 'smoke', data: demo });
    expect(one.message).toMatch(/arms/);
    const rel = await refusal('studies.estimate', {
      arms: ['random', 'byol'],
      seeds: 1,
      budget: 'smoke',
      data: { ...demo, train: 'rel/train.json' },
    });
    expect(rel.message).toMatch(/rel\/train.json: give "demo" or an absolute path/);
    const file = await refusal('studies.estimate', {
      arms: ['byol', 'file:/nowhere/sup.safetensors'],
      seeds: 1,
      budget: 'smoke',
      data: demo,
    });
    expect(file.message).toMatch(/file:\/nowhere\/sup.safetensors: .*\/nowhere\/sup.safetensors/);
    // a supervised arm's file is checked as the fine-tune form checks it: a state dict of no ResNet
    const notResNet = path.join(HERE, '../engine/export/fixtures/tiny-conv-bn.pth');
    const sup = await refusal('studies.estimate', {
      arms: ['moco-v2', `supervised:${notResNet}`],
      seeds: 1,
      budget: 'smoke',
      data: demo,
    });
    expect(sup.message).toMatch(
      /supervised: .*tiny-conv-bn\.pth: not a torchvision ResNet or MobileNetV2 state dict/,
    );
    expect(await call('studies.list', {})).toEqual([]);
  });

  it('estimates without writing to the store: demo splits and unimported paths are only read', async () => {
    const files = tempDir('selfemd-study-api-data-');
    try {
      const photos = await imageFolder(files);
      const coco = await cocoDataset(files);
      const stored = () => ({
        datasets: service.store.listDatasets(),
        folders: fs.existsSync(path.join(home.dir, 'datasets'))
          ? fs.readdirSync(path.join(home.dir, 'datasets'))
          : [],
      });
      const before = stored();
      expect(before.datasets).toEqual([]);
      const onDemo = await call('studies.estimate', {
        arms: ['random', 'byol'],
        seeds: 1,
        budget: 'smoke',
        data: demo,
        backend: 'wasm',
      });
      expect(onDemo).toMatchObject({ pretrainRuns: 1, finetuneRuns: 2 });
      // A path not imported yet: its images are counted (3 readable in the folder, 2 in the COCO file).
      const onPaths = await call('studies.estimate', {
        arms: ['random', 'byol'],
        seeds: 1,
        budget: 'smoke',
        data: { unlabeled: photos, train: coco, val: 'demo' },
        backend: 'wasm',
        pretrain: { optim: { batchSize: 2 } },
        finetune: { optim: { batchSize: 2 } },
        pretrainSteps: 3,
        finetuneSteps: 2,
      });
      expect(onPaths).toMatchObject({ pretrainSteps: 3, finetuneSteps: 2 });
      expect(stored()).toEqual(before);
      // The same path given as train and val is refused before anything is recorded, too.
      const same = await refusal('studies.estimate', {
        arms: ['random', 'byol'],
        seeds: 1,
        budget: 'smoke',
        data: { unlabeled: 'demo', train: coco, val: coco },
      });
      expect(same.message).toMatch(/data.val.*is the train set/);
      expect(stored()).toEqual(before);
    } finally {
      removeTempDir(files);
    }
  });

  it('plans the contrastive baselines and a supervised arm (torchvision weights, depth and width from the file)', async () => {
    // torchvision's resnet18 names at width 16, as a header (the plan reads no tensor)
    const header: Record<string, unknown> = {
      'conv1.weight': { dtype: 'F32', shape: [16, 3, 7, 7], data_offsets: [0, 0] },
    };
    for (const layer of [1, 2, 3, 4])
      for (const block of [0, 1])
        header[`layer${layer}.${block}.conv1.weight`] = { dtype: 'F32', shape: [1], data_offsets: [0, 0] };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const weights = path.join(home.dir, 'resnet18-supervised.safetensors');
    fs.writeFileSync(weights, Buffer.concat([len, json]));
    const plan = await resolveStudyPlan(home.dir, service.store, (await call('system.info', {})).hardware, {
      arms: ['moco-v2', 'simclr', `supervised:${weights}`],
      seeds: 1,
      budget: 'smoke',
      data: demo,
    });
    expect(plan.arms.map((a) => [a.name, a.kind, a.pretrain?.method ?? a.path])).toEqual([
      ['moco-v2', 'ssl', 'moco-v2'],
      ['simclr', 'ssl', 'simclr'],
      ['supervised', 'file', weights],
    ]);
    // the smoke budget shrinks every method's head alike
    expect(plan.arms[0]!.pretrain!.moco.projectorHidden).toBe(64);
    expect(plan.arms[1]!.pretrain!.simclr.projectorHidden).toBe(64);
  });

  it('estimates from measured step times of runs of the same shape, unknown before', async () => {
    const req = {
      arms: ['random', 'byol', 'self-emd'],
      seeds: 2,
      budget: 'smoke' as const,
      data: demo,
      backend: 'wasm' as const,
    };
    const before = await call('studies.estimate', req);
    expect(before).toMatchObject({
      pretrainRuns: 2,
      finetuneRuns: 6,
      pretrainSteps: 8,
      finetuneSteps: 12,
      seconds: null,
    });
    // Runs of the plan's shapes with loss points 2 s (pretraining) and 0.5 s (fine-tune) apart, on wasm.
    const plan: StudyPlan = await resolveStudyPlan(
      home.dir,
      service.store,
      (await call('system.info', {})).hardware,
      req,
    );
    const record = (kind: 'pretrain' | 'finetune', method: string, config: object, gapMs: number) => {
      const run = service.store.createRun({ kind, name: 'm', method, backbone: 'resnet18', config });
      service.store.updateRunStatus(run.id, 'running', { backend: { name: 'wasm', version: '4' } });
      service.store.appendMetrics(
        [1, 2, 3].map((step) => ({
          runId: run.id,
          key: 'loss/total',
          step,
          value: 1,
          wallTime: 1e12 + step * gapMs,
        })),
      );
    };
    for (const arm of plan.arms.filter((a) => a.kind === 'ssl'))
      record('pretrain', arm.name, arm.pretrain!, 2000);
    record('finetune', 'retinanet', plan.finetune, 500);
    expect(runShape('finetune', plan.finetune)).toContain('finetune/');
    const after = await call('studies.estimate', req);
    expect(after.secondsPerStep).toEqual({ pretrain: 2, finetune: 0.5 });
    expect(after.seconds).toBeCloseTo(2 * 8 * 2 + 6 * 12 * 0.5, 10);
  });
});
