import { describe, expect, it } from 'vitest';
import { configPathApplies } from '../../shared/config/config-applies';
import { DEFAULT_FINETUNE_CONFIG } from '../../shared/config/finetune';
import { DEFAULT_PRETRAIN_CONFIG } from '../../shared/config/pretrain';
import { configDiffRows } from '../../src-renderer/lib/config-diff';
import { flatten } from '../../src-renderer/lib/config-paths';

const clone = <T>(v: T): T => structuredClone(v);
/** A pretraining config for `method` with the given dotted fields changed. */
function pretrain(method: string, set: Record<string, unknown> = {}): Record<string, unknown> {
  const c = clone(DEFAULT_PRETRAIN_CONFIG) as unknown as Record<string, unknown>;
  c.method = method;
  for (const [path, value] of Object.entries(set)) {
    const keys = path.split('.');
    let cur = c;
    for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
    cur[keys[keys.length - 1]!] = value;
  }
  return c;
}
/** What differs at all between the configs (what the store's differingConfigPaths gives). */
const differing = (configs: Record<string, unknown>[]) => {
  const flat = configs.map((c) => new Map(flatten(c).map(([p, v]) => [p, JSON.stringify(v)])));
  return [...flat[0]!.keys()].filter((p) => new Set(flat.map((m) => m.get(p))).size > 1);
};
const rowsOf = (configs: Record<string, unknown>[]) =>
  configDiffRows(configs, differing(configs)).map((r) => r.path);

describe('the runs comparison’s config diff', () => {
  it('hides a BYOL run’s emd.* and moco.* (defaults it never reads) against a Self-EMD run', () => {
    const byol = pretrain('byol', { 'emd.lambda': 5, 'moco.queueSize': 256, 'optim.lr': 0.1 });
    const emd = pretrain('self-emd', { 'emd.lambda': 20 });
    expect(rowsOf([byol, emd])).toEqual(['method', 'optim.lr']);
  });

  it('keeps a method’s field when two runs of it differ there, n/a for the run that does not use it', () => {
    const a = pretrain('moco-v2', { 'moco.queueSize': 256 });
    const b = pretrain('moco-v2', { 'moco.queueSize': 1024 });
    const c = pretrain('simclr', { 'moco.queueSize': 4096, 'simclr.temperature': 0.1 });
    const rows = configDiffRows([a, b, c], differing([a, b, c]));
    expect(rows.map((r) => r.path)).toEqual(['method', 'moco.queueSize']);
    expect(rows[1]!.cells).toEqual([
      { applies: true, value: 256 },
      { applies: true, value: 1024 },
      { applies: false },
    ]);
  });

  it('hides selfEmd-only and moco-only fields by method, and data fields by data source', () => {
    const byol = pretrain('byol');
    expect(configPathApplies(byol, 'emd.lambda')).toBe(false);
    expect(configPathApplies(byol, 'moco.temperature')).toBe(false);
    expect(configPathApplies(byol, 'byol.tauBase')).toBe(true);
    expect(configPathApplies(pretrain('simclr'), 'byol.tauBase')).toBe(false);
    expect(configPathApplies(pretrain('moco-v2'), 'moco.temperature')).toBe(true);
    expect(configPathApplies(pretrain('self-emd', { 'emd.spc': false }), 'emd.spcGrids')).toBe(false);
    expect(configPathApplies(pretrain('self-emd', { 'data.source': '/imgs' }), 'data.demoImages')).toBe(
      false,
    );
    expect(configPathApplies(pretrain('self-emd', { 'probe.data': '' }), 'probe.every')).toBe(false);
  });

  it('for fine-tunes: by detector, init kind and demo data', () => {
    const ft = clone(DEFAULT_FINETUNE_CONFIG) as unknown as Record<string, unknown>;
    expect(configPathApplies(ft, 'retinanet.focalAlpha')).toBe(ft.detector === 'retinanet');
    expect(configPathApplies(ft, 'rpn.nmsThresh')).toBe(ft.detector === 'faster-rcnn');
    const frcnn = { ...ft, detector: 'faster-rcnn', init: { kind: 'random', path: '' } };
    expect(configPathApplies(frcnn, 'roiHeads.batchSizePerImage')).toBe(true);
    expect(configPathApplies(frcnn, 'retinanet.focalAlpha')).toBe(false);
    expect(configPathApplies(frcnn, 'init.path')).toBe(false);
    expect(configPathApplies({ ...ft, data: { train: '/coco', val: '/coco' } }, 'data.demoTrain')).toBe(
      false,
    );
  });
});
