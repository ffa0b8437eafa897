/**
 * The studio API as both transports see it (StudioService.handle): argument checking, datasets with
 * their import reports and thumbnails, run configs validated on this side too, baselines, CSV, and
 * refusals that say what to do. No training here (that is the e2e test's job).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../shared/api/events';
import { StudioService } from '../../src-main/jobs/studio-service';
import { cocoDataset, imageFolder, pngSize, tempHome, writePng } from './fixtures';
import { serviceCalls } from './service-calls';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
const events: StudioEvent[] = [];

const { call, refusal } = serviceCalls(() => service);

beforeAll(() => {
  home = tempHome();
  service = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
  service.on((e) => events.push(e));
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

describe('StudioService', () => {
  it('has the demo datasets on first launch, and does not add them again after they are removed', async () => {
    const list = await call('datasets.list', {});
    const demos = list.filter((d) => d.kind === 'demo');
    expect(demos.map((d) => [d.split, d.imageCount]).sort()).toEqual([
      ['train', 64],
      ['val', 32],
    ]);
    const train = demos.find((d) => d.split === 'train')!;
    const details = await call('datasets.get', { id: train.id });
    expect(details.pretrainable).toBe(true);
    expect(details.categoryCounts.map((c) => c.name)).toEqual([
      'circle',
      'square',
      'triangle',
      'star',
      'ring',
      'cross',
    ]);
    expect(details.categoryCounts.reduce((s, c) => s + c.count, 0)).toBe(train.annotationCount);
    const val = demos.find((d) => d.split === 'val')!;
    expect((await call('datasets.get', { id: val.id })).pretrainable).toBe(false);

    await call('datasets.delete', { id: val.id });
    const reopened = StudioService.open({ home: home.dir, transport: 'browser', version: 'test' });
    // Same folder, second launch: the marker keeps the removed demo removed.
    const again = await reopened.handle('datasets.list', {});
    await reopened.manager.shutdown();
    expect(again.ok && (again.value as { split: string | null }[]).filter((d) => d.split === 'val')).toEqual(
      [],
    );
  });

  it('rejects malformed arguments with a per-field message, before doing anything', async () => {
    expect((await refusal('runs.get', { id: 42 })).issues?.[0]?.path).toBe('args.id');
    expect((await refusal('datasets.get', { id: 'x' })).code).toBe('invalid');
    expect((await refusal('datasets.get', {})).issues).toEqual([{ path: 'args.id', message: 'is required' }]);
    expect((await refusal('datasets.list', { extra: 1 })).issues?.[0]).toEqual({
      path: 'args.extra',
      message: 'is not a known argument',
    });
    expect((await refusal('datasets.list', [])).code).toBe('invalid');
    expect((await refusal('no.such', {})).message).toContain('unknown method');
    expect((await refusal('__proto__', {})).code).toBe('invalid');
    expect((await refusal('datasets.import', { path: 'a\0b' })).issues?.[0]?.message).toContain('NUL');
    expect((await refusal('runs.get', { id: 'no-such-run' })).code).toBe('not-found');
  });

  it('imports an image folder, listing the file it could not read with the reason', async () => {
    const dir = await imageFolder(home.dir);
    const record = await call('datasets.import', { path: dir, importId: 'imp-1' });
    expect(record.kind).toBe('images');
    expect(record.imageCount).toBe(3);
    expect(record.importReport.skipped).toHaveLength(1);
    expect(record.importReport.skipped[0]!.file).toBe('broken.jpg');
    expect(record.importReport.skipped[0]!.reason).toMatch(/unreadable|decod|image/i);
    const phases = events
      .filter((e) => e.name === 'datasets.importProgress' && e.payload.importId === 'imp-1')
      .map((e) => (e.payload as { phase: string }).phase);
    expect(phases[0]).toBe('scanning');
    expect(phases).toContain('reading');
    expect(phases[phases.length - 1]).toBe('done');

    const page = await call('datasets.images', { id: record.id });
    expect(page.images.map((i) => [i.name, i.width, i.height])).toEqual([
      ['a.png', 40, 30],
      ['b.png', 32, 32],
      ['sub/c.png', 20, 48],
    ]);
    const thumb = await call('datasets.thumbnail', { id: record.id, index: 2, size: 24 });
    expect(pngSize(thumb.dataUrl)).toEqual({ width: 24, height: 24 });
    expect((await refusal('datasets.thumbnail', { id: record.id, index: 3 })).code).toBe('not-found');
  });

  it('imports COCO with per-category counts and reports the missing image', async () => {
    const file = await cocoDataset(home.dir);
    const record = await call('datasets.import', { path: file, format: 'auto' });
    expect(record.kind).toBe('coco');
    expect(record.imageCount).toBe(2);
    expect(record.annotationCount).toBe(3);
    expect(
      record.importReport.skipped.some((s) => /missing\.png|not found/i.test(`${s.file} ${s.reason}`)),
    ).toBe(true);
    const details = await call('datasets.get', { id: record.id });
    expect(details.categoryCounts).toEqual([
      { id: 1, name: 'cat', count: 1, images: 1 },
      { id: 7, name: 'dog', count: 2, images: 2 },
    ]);
    expect(details.pretrainable).toBe(true);
    // A dropped COCO folder (its one .json beside the images) is recognised as COCO too.
    const folder = await call('datasets.import', { path: path.dirname(file), name: 'coco folder' });
    expect([folder.kind, folder.imageCount, folder.annotationCount, folder.name]).toEqual([
      'coco',
      2,
      3,
      'coco folder',
    ]);
  });

  it('reports a broken VOC annotation with its line once', async () => {
    const dir = path.join(home.dir, 'voc');
    await writePng(path.join(dir, 'JPEGImages', 'a.png'), 64, 48, 6);
    mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
    const box = '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox>';
    writeFileSync(
      path.join(dir, 'Annotations', 'a.xml'),
      `<annotation><filename>a.png</filename><size><width>64</width><height>48</height><depth>3</depth></size><object><name>cat</name>${box}</object></annotation>`,
    );
    writeFileSync(
      path.join(dir, 'Annotations', 'b.xml'),
      '<annotation><filename>b.png</filename></annotatio>',
    );
    const record = await call('datasets.import', { path: dir });
    expect(record.kind).toBe('voc');
    const broken = record.importReport.skipped.find((x) => x.file === 'Annotations/b.xml')!;
    expect(broken.reason).toMatch(/^XML error at line 1, column \d+: /);
  });

  it('says in words why a path cannot be imported', async () => {
    const err = await refusal('datasets.import', { path: path.join(home.dir, 'nope') });
    expect(err.code).toBe('failed');
    expect(err.message).toContain('does not exist');
    expect(err.hint).toBeTruthy();
    // Store errors reach the user without the name of the function that threw them.
    const run = await refusal('runs.get', { id: 'no-such-run' });
    expect([run.code, run.message]).toEqual(['not-found', 'run "no-such-run" does not exist']);
    const before = (await call('datasets.list', {})).length;
    // A broken annotation file: its own problem first, not "no usable images".
    const dir = path.join(home.dir, 'broken-coco');
    mkdirSync(dir, { recursive: true });
    const broken = path.join(dir, 'instances.json');
    writeFileSync(broken, '{"images": [ {"id": 1, "file_name": "a.png",, } ]}');
    const syntax = await refusal('datasets.import', { path: broken });
    expect(syntax.message).toMatch(new RegExp(`^${broken}: JSON syntax error at line 1, column \\d+`));
    expect(syntax.hint).toBe('Fix the annotation file and import it again.');
    // An unrelated JSON beside it is not a candidate: the folder is the broken COCO file's
    writeFileSync(path.join(dir, 'stats.json'), '{"images": 3}');
    expect((await refusal('datasets.import', { path: dir })).message).toMatch(/JSON syntax error/);
    // Two COCO files: which one? (not imported as bare images)
    writeFileSync(path.join(dir, 'other.json'), '{"images": [], "annotations": []}');
    const two = await refusal('datasets.import', { path: dir });
    expect(two.message).toBe(
      `${dir} holds 2 COCO annotation files (instances.json, other.json): import one of them`,
    );
    expect((await call('datasets.list', {})).length).toBe(before);
  });

  it('validates run configs on this side: schema issues and the dataset-size check', async () => {
    const demo = (await call('datasets.list', {})).find((d) => d.kind === 'demo' && d.split === 'train')!;
    const bad = await call('runs.validate', {
      method: 'self-emd',
      datasetId: demo.id,
      config: { optim: { lr: -1, batchSize: 'x' } },
    });
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['config.optim.batchSize', 'config.optim.lr']);
    const size = await call('runs.validate', {
      method: 'self-emd',
      datasetId: demo.id,
      config: { data: { imageSize: 96 }, emd: { scaleViewSize: 128 } },
    });
    expect(size.issues).toEqual([
      { path: 'config.emd.scaleViewSize', message: 'must be smaller than data.imageSize (96)' },
    ]);
    const big = await call('runs.validate', {
      method: 'byol',
      datasetId: demo.id,
      config: { optim: { batchSize: 128 } },
    });
    expect(big.issues).toEqual([
      { path: 'config.optim.batchSize', message: "must be at most the dataset's 64 images, got 128" },
    ]);
    const ok = await call('runs.validate', {
      method: 'self-emd',
      datasetId: demo.id,
      config: { optim: { batchSize: 16, epochs: 2 } },
    });
    expect(ok).toEqual({ issues: [], totalSteps: 8 });
    const start = await refusal('runs.start', {
      method: 'self-emd',
      datasetId: demo.id,
      config: { optim: { lr: 0 } },
    });
    expect(start.code).toBe('invalid');
    expect(start.issues?.map((i) => i.path)).toEqual(['config.optim.lr']);
  });

  it('records a random-init baseline without training, and refuses to resume or export it', async () => {
    const demo = (await call('datasets.list', {})).find((d) => d.kind === 'demo' && d.split === 'train')!;
    const run = await call('runs.start', {
      method: 'random-init',
      datasetId: demo.id,
      name: 'baseline',
      config: { backbone: { baseWidth: 16 }, seed: 3 },
    });
    expect(run.status).toBe('completed');
    expect(run.method).toBe('random-init');
    expect(run.totalSteps).toBe(0);
    expect((run.config as { seed: number; backbone: { baseWidth: number } }).backbone.baseWidth).toBe(16);
    expect((await refusal('runs.resume', { id: run.id })).code).toBe('conflict');
    const exp = await refusal('exports.run', { runId: run.id, format: 'safetensors' });
    expect(exp.code).toBe('conflict');
    expect(exp.hint).toBeTruthy();
    const details = await call('runs.get', { id: run.id });
    expect(details.log.map((l) => l.message).join('\n')).toContain('random-init baseline');
    // A dataset in use cannot be removed.
    const inUse = await refusal('datasets.delete', { id: demo.id });
    expect(inUse.code).toBe('conflict');
    expect(inUse.message).toMatch(
      new RegExp(`^dataset "${demo.name.replace(/[()]/g, '\\$&')}" is used by \\d+ run`),
    );
  });

  it('a request refused by its argument shape names the fields as a user does, not the method', async () => {
    const r = await refusal('datasets.addDemo', { count: 1 });
    expect(r.message).toBe('invalid request: count must be ≥ 2, got 1');
    expect(r.issues).toEqual([{ path: 'args.count', message: 'must be ≥ 2, got 1' }]);
  });

  it('exports metrics of several runs as one CSV, NaN included', async () => {
    const demo = (await call('datasets.list', {})).find((d) => d.kind === 'demo' && d.split === 'train')!;
    const a = await call('runs.start', {
      method: 'random-init',
      datasetId: demo.id,
      name: 'a,"quoted"',
      config: {},
    });
    const b = await call('runs.start', { method: 'random-init', datasetId: demo.id, name: 'b', config: {} });
    service.store.appendMetrics([
      { runId: a.id, key: 'loss/total', step: 1, value: 2.5, wallTime: 1_700_000_000_000 },
      { runId: a.id, key: 'loss/total', step: 2, value: Number.NaN, wallTime: 1_700_000_001_000 },
      { runId: b.id, key: 'loss/total', step: 1, value: 1.25, wallTime: 1_700_000_002_000 },
    ]);
    const { csv, filename } = await call('metrics.csv', { runIds: [a.id, b.id] });
    expect(filename).toMatch(/^selfemd-metrics-.*\.csv$/);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('run_id,run_name,method,key,step,value,wall_time');
    expect(lines.slice(1)).toEqual([
      `${a.id},"a,""quoted""",random-init,loss/total,1,2.5,2023-11-14T22:13:20.000Z`,
      `${a.id},"a,""quoted""",random-init,loss/total,2,NaN,2023-11-14T22:13:21.000Z`,
      `${b.id},b,random-init,loss/total,1,1.25,2023-11-14T22:13:22.000Z`,
    ]);
    const cmp = await call('metrics.compare', { runIds: [a.id, b.id] });
    expect(cmp.runs.map((r) => r.run.name)).toEqual(['a,"quoted"', 'b']);
  });

  it('browses folders of the studio machine', async () => {
    const listing = await call('system.listDir', { path: home.dir });
    expect(listing.entries.filter((e) => e.kind === 'dir').map((e) => e.name)).toEqual(
      expect.arrayContaining(['coco', 'photos', 'datasets']),
    );
    expect(listing.parent).toBe(path.dirname(home.dir));
    const withFiles = await call('system.listDir', { path: path.join(home.dir, 'photos'), showFiles: true });
    expect(withFiles.entries.map((e) => e.name)).toEqual(['sub', 'a.png', 'b.png', 'broken.jpg']);
    expect((await refusal('system.pickPath', { kind: 'folder' })).code).toBe('unavailable');
    expect(existsSync(path.join(home.dir, 'studio.db'))).toBe(true);
  });

  it('refuses a folder that does not exist without echoing a path of thousands of characters', async () => {
    const missing = path.join(home.dir, ...Array.from({ length: 19 }, () => 'x'.repeat(200)));
    const long = await refusal('system.listDir', { path: missing });
    expect(long.message).toMatch(/does not exist$/);
    expect(long.message.length).toBeLessThan(200);
    // an ordinary path is shown whole
    const short = await refusal('system.listDir', { path: path.join(home.dir, 'nowhere') });
    expect(short.message).toBe(`${path.join(home.dir, 'nowhere')} does not exist`);
  });
});
