/**
 * The fine-tune API (runs.validateFinetune / runs.startFinetune) as both transports see it: argument
 * shapes, unknown ids, datasets without boxes or of the wrong split or label set, parents that cannot
 * give a backbone, bad numbers named by field — and what a valid request resolves to. No training
 * here (test/jobs/finetune-run.test.ts trains one).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineDescription } from '../../shared/config/run-defaults';
import type { DatasetRecord } from '../../shared/dto';
import { StudioService } from '../../src-main/jobs/studio-service';
import { resolveNewFinetune } from '../../src-main/jobs/service/new-finetune';
import { cocoDataset, imageFolder, tempHome } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let demoTrain: DatasetRecord;
let demoVal: DatasetRecord;
let photos: DatasetRecord;
let coco: DatasetRecord;

const { call, refusal } = serviceCalls(() => service);

const paths = (issues: { path: string }[]) => issues.map((i) => i.path).sort();
/** A machine whose defaults add nothing (a GPU: the paper's sizes), so these requests resolve on the plain defaults. */
const GPU: MachineDescription = { backends: ['auto', 'tfjs-node-gpu', 'wasm', 'cpu'], cpus: 2 };

beforeAll(async () => {
  home = tempHome('selfemd-ft-api-');
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
  const list = await call('datasets.list', {});
  demoTrain = list.find((d) => d.kind === 'demo' && d.split === 'train')!;
  demoVal = list.find((d) => d.kind === 'demo' && d.split === 'val')!;
  photos = await call('datasets.import', { path: await imageFolder(home.dir) });
  coco = await call('datasets.import', { path: await cocoDataset(home.dir) });
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

describe('runs.validateFinetune / runs.startFinetune', () => {
  it('refuses malformed arguments per field, before looking anything up', async () => {
    expect((await refusal('runs.validateFinetune', { init: 'imagenet', config: {} })).issues).toEqual([
      { path: 'args.init', message: 'must be one of parent, random, file, got "imagenet"' },
    ]);
    expect(
      paths(
        (await refusal('runs.startFinetune', { init: 'random', trainDatasetId: 'x', config: {} })).issues!,
      ),
    ).toEqual(['args.trainDatasetId', 'args.valDatasetId']);
    expect(
      (
        await refusal('runs.startFinetune', {
          init: 'random',
          trainDatasetId: 1,
          valDatasetId: 2,
          config: {},
          detector: 'yolo',
        })
      ).issues,
    ).toEqual([{ path: 'args.detector', message: 'is not a known argument' }]);
    expect(
      (await refusal('runs.validateFinetune', { init: 'parent', parentRunId: '../etc', config: {} }))
        .issues?.[0]?.path,
    ).toBe('args.parentRunId');
  });

  it('a valid request: the datasets decide the data, the steps follow the train set and the batch', async () => {
    const ok = await call('runs.validateFinetune', {
      init: 'random',
      trainDatasetId: demoTrain.id,
      valDatasetId: demoVal.id,
      config: { detector: 'faster-rcnn', optim: { epochs: 2, batchSize: 4 } },
    });
    // 64 demo train images in batches of 4: 16 steps an epoch.
    expect(ok).toEqual({ issues: [], totalSteps: 32 });
    const r = resolveNewFinetune(
      home.dir,
      service.store,
      {
        init: 'random',
        trainDatasetId: demoTrain.id,
        valDatasetId: demoVal.id,
        config: { detector: 'faster-rcnn', data: { train: '/somewhere/else', demoTrain: 3 } },
      },
      GPU,
    );
    expect(r.issues).toEqual([]);
    expect(r.config!.data).toMatchObject({
      train: 'demo',
      val: 'demo',
      demoTrain: 64,
      demoVal: 32,
      demoSeed: 0,
    });
    expect(r.config!.init).toEqual({ kind: 'random', path: '' });
    // The detector's own learning rate when none is given (detectron2: 0.02 for Faster R-CNN).
    expect(r.config!.optim.lr).toBe(0.02);
    // A labelled import trains from its source on disk.
    const cocoVal = await call('datasets.import', {
      path: await cocoDataset(path.join(home.dir, 'held-out')),
    });
    const fromCoco = resolveNewFinetune(
      home.dir,
      service.store,
      { init: 'random', trainDatasetId: coco.id, valDatasetId: cocoVal.id, config: {} },
      GPU,
    );
    expect(fromCoco.issues).toEqual([]);
    expect([fromCoco.config!.data.train, fromCoco.config!.data.val]).toEqual([coco.path, cocoVal.path]);
    // Evaluated on its own training images: refused, said under the val field.
    const same = resolveNewFinetune(
      home.dir,
      service.store,
      { init: 'random', trainDatasetId: coco.id, valDatasetId: coco.id, config: {} },
      GPU,
    );
    expect(same.issues).toEqual([
      {
        path: 'valDatasetId',
        message: `is the train dataset ("${coco.name}"): evaluate on held-out images (import a separate val set)`,
      },
    ]);
  });

  it('names unknown datasets and runs', async () => {
    const ds = await refusal('runs.startFinetune', {
      init: 'random',
      trainDatasetId: 999,
      valDatasetId: demoVal.id,
      config: {},
    });
    expect(ds.code).toBe('not-found');
    expect(ds.message).toBe('the train dataset (id 999) does not exist');
    const val = await refusal('runs.validateFinetune', { init: 'random', valDatasetId: 998, config: {} });
    expect([val.code, val.message]).toEqual(['not-found', 'the val dataset (id 998) does not exist']);
    const run = await refusal('runs.startFinetune', {
      init: 'parent',
      parentRunId: 'no-such-run',
      trainDatasetId: demoTrain.id,
      valDatasetId: demoVal.id,
      config: {},
    });
    expect([run.code, run.message]).toEqual(['not-found', 'the pretraining run no-such-run does not exist']);
  });

  it('refuses datasets without boxes, the wrong demo split, and two label sets', async () => {
    const noBoxes = await call('runs.validateFinetune', {
      init: 'random',
      trainDatasetId: photos.id,
      valDatasetId: demoVal.id,
      config: {},
    });
    expect(noBoxes.issues).toHaveLength(1);
    expect(noBoxes.issues[0]!.path).toBe('trainDatasetId');
    expect(noBoxes.issues[0]!.message).toMatch(/^"photos" has no boxes \(a folder of images\)/);
    const swapped = await call('runs.validateFinetune', {
      init: 'random',
      trainDatasetId: demoVal.id,
      valDatasetId: demoTrain.id,
      config: {},
    });
    expect(
      swapped.issues.map((i) => [i.path, /held-out demo val split|demo train split/.test(i.message)]),
    ).toEqual([
      ['trainDatasetId', true],
      ['valDatasetId', true],
    ]);
    const mixed = await call('runs.validateFinetune', {
      init: 'random',
      trainDatasetId: demoTrain.id,
      valDatasetId: coco.id,
      config: {},
    });
    expect(mixed.issues.map((i) => i.path)).toEqual(['valDatasetId']);
    expect(mixed.issues[0]!.message).toMatch(
      /only "instances" has "cat", "dog"; only "Demo scenes[^"]*" has "/,
    );
    expect(mixed.issues[0]!.message).toContain('a detector needs one label set');
  });

  it('matches categories by name: the same names in another order and under other ids are one label set', async () => {
    const dir = path.join(home.dir, 'reordered');
    const file = await cocoDataset(dir);
    // the same two names, numbered the other way round (as a VOC val set would number them)
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      categories: { id: number; name: string }[];
      annotations: { category_id: number }[];
    };
    json.categories = [
      { id: 1, name: 'dog' },
      { id: 2, name: 'cat' },
    ];
    for (const a of json.annotations) a.category_id = a.category_id === 7 ? 1 : 2;
    writeFileSync(file, JSON.stringify(json));
    const reordered = await call('datasets.import', { path: file, name: 'reordered' });
    const ok = await call('runs.validateFinetune', {
      init: 'random',
      trainDatasetId: coco.id,
      valDatasetId: reordered.id,
      config: {},
    });
    expect(ok.issues).toEqual([]);
  });

  it('names bad numbers by field, and starts nothing', async () => {
    const before = (await call('runs.list', {})).length;
    const args = {
      init: 'random' as const,
      trainDatasetId: demoTrain.id,
      valDatasetId: demoVal.id,
      config: { optim: { lr: -1, batchSize: 0, epochs: 'many' }, data: { minSizeTest: 8 } },
    };
    const check = await call('runs.validateFinetune', args);
    expect(paths(check.issues)).toEqual([
      'config.data.minSizeTest',
      'config.optim.batchSize',
      'config.optim.epochs',
      'config.optim.lr',
    ]);
    expect(check.issues.find((i) => i.path === 'config.optim.lr')!.message).toBe('must be > 0, got -1');
    expect(check.totalSteps).toBeNull();
    const start = await refusal('runs.startFinetune', args);
    expect(start.code).toBe('invalid');
    expect(start.message).toMatch(/^the fine-tune cannot start: /);
    expect(paths(start.issues!)).toEqual(paths(check.issues));
    expect((await call('runs.list', {})).length).toBe(before);
  });

  it('takes the backbone from a parent that has one, and says why others cannot give one', async () => {
    const base = { trainDatasetId: demoTrain.id, valDatasetId: demoVal.id, config: {} };
    expect((await call('runs.validateFinetune', { init: 'parent', ...base })).issues).toEqual([
      { path: 'parentRunId', message: 'is required with init "parent": which pretraining run?' },
    ]);

    // A random-init baseline: its backbone, width and seed are the detector's initial weights.
    const baseline = await call('runs.start', {
      method: 'random-init',
      datasetId: demoTrain.id,
      name: 'baseline',
      config: { backbone: { name: 'resnet34', baseWidth: 8 }, seed: 7 },
    });
    const fromBaseline = resolveNewFinetune(
      home.dir,
      service.store,
      {
        init: 'parent',
        parentRunId: baseline.id,
        ...base,
        config: { backbone: { name: 'resnet50', baseWidth: 64 } },
      },
      GPU,
    );
    expect(fromBaseline.issues).toEqual([]);
    expect(fromBaseline.parent?.id).toBe(baseline.id);
    expect(fromBaseline.config!.init).toEqual({ kind: 'random', path: '' });
    expect(fromBaseline.config!.backbone).toMatchObject({ name: 'resnet34', baseWidth: 8 });
    expect(fromBaseline.config!.seed).toBe(7);
    expect(
      (await call('runs.validateFinetune', { init: 'random', parentRunId: baseline.id, ...base })).issues,
    ).toEqual([
      {
        path: 'parentRunId',
        message: 'must be left out with init "random" (a random baseline has no parent)',
      },
    ]);

    // A trained run with no checkpoint yet, then with one on disk.
    const byol = service.store.createRun({
      kind: 'pretrain',
      name: 'byol no ckpt',
      method: 'byol',
      backbone: 'resnet18',
      config: { seed: 0, backbone: { name: 'resnet18', baseWidth: 16 } },
    });
    const none = await call('runs.validateFinetune', { init: 'parent', parentRunId: byol.id, ...base });
    expect(none.issues).toEqual([
      {
        path: 'parentRunId',
        message: '"byol no ckpt" has no checkpoint on disk yet; wait for its first checkpoint',
      },
    ]);
    const dir = path.join(home.dir, 'runs', byol.id, 'checkpoints', 'step-000004');
    mkdirSync(dir, { recursive: true });
    service.store.addCheckpoint({ runId: byol.id, step: 4, epoch: 1, path: dir, bytes: 1 });
    const withCkpt = resolveNewFinetune(
      home.dir,
      service.store,
      { init: 'parent', parentRunId: byol.id, ...base },
      GPU,
    );
    expect(withCkpt.issues).toEqual([]);
    expect(withCkpt.config!.init).toEqual({ kind: 'pretrain-run', path: dir });
    expect(withCkpt.config!.backbone).toMatchObject({ name: 'resnet18', baseWidth: 16 });

    // A fine-tune run is no backbone source.
    const ft = service.store.createRun({
      kind: 'finetune',
      name: 'a detector',
      method: 'retinanet',
      backbone: 'resnet18',
      config: {},
    });
    const notPretrain = await call('runs.validateFinetune', { init: 'parent', parentRunId: ft.id, ...base });
    expect(notPretrain.issues).toEqual([
      {
        path: 'parentRunId',
        message: `"a detector" is a fine-tune run; a detector's backbone comes from a pretraining run`,
      },
    ]);
  });
});
