import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRETRAIN_CONFIG,
  cpuDemoOverrides,
  pretrainConfigIssues,
  mocoQueueNote,
  resolvePretrainConfig,
  scaleViewSizeFollowing,
  denseMapSide,
  plannedPretrainSteps,
  pretrainDatasetTooSmall,
  spcDistinctGrids,
  spcLevels,
  spcSelectableGrids,
  projectionHead,
  isPretrainMethod,
} from '../../shared/config/pretrain';
import { ConfigError, mergeDefaults } from '../../shared/config/validation';

describe('pretrain config', () => {
  it('defaults are valid and follow the paper where it is specific', () => {
    expect(pretrainConfigIssues(DEFAULT_PRETRAIN_CONFIG)).toEqual([]);
    const c = DEFAULT_PRETRAIN_CONFIG;
    expect(c.emd.iterations).toBe(10);
    expect(c.emd.spcGrids).toEqual([7, 5, 3]);
    expect(c.emd.scaleViewSize).toBe(112);
    expect(c.emd.marginals).toBe('global-vector');
    expect(c.optim.weightDecay).toBe(1e-4);
  });

  it('merges partial overrides onto the defaults', () => {
    const c = resolvePretrainConfig({ method: 'byol', optim: { epochs: 3 } });
    expect(c.method).toBe('byol');
    expect(c.optim.epochs).toBe(3);
    expect(c.optim.batchSize).toBe(DEFAULT_PRETRAIN_CONFIG.optim.batchSize);
  });

  it("the scale view follows the image size unless set (half of it: the paper's 112 at 224)", () => {
    // --size 64 on the CPU defaults used to keep a 64 px scale view and fail validation
    const small = resolvePretrainConfig(mergeDefaults(cpuDemoOverrides(), { data: { imageSize: 64 } }));
    expect(small.emd.scaleViewSize).toBe(32);
    expect(resolvePretrainConfig({}).emd.scaleViewSize).toBe(112);
    expect(resolvePretrainConfig({ data: { imageSize: 160 } }).emd.scaleViewSize).toBe(80);
    expect(resolvePretrainConfig(cpuDemoOverrides()).emd.scaleViewSize).toBe(48);
    // a size the user set is kept, and checked
    expect(
      resolvePretrainConfig({ data: { imageSize: 160 }, emd: { scaleViewSize: 96 } }).emd.scaleViewSize,
    ).toBe(96);
    expect(() => resolvePretrainConfig({ data: { imageSize: 64 }, emd: { scaleViewSize: 64 } })).toThrow(
      /must be smaller than data.imageSize \(64\)/,
    );
  });

  it("in a form, the scale view follows an edited image size while it is the old size's default", () => {
    expect(scaleViewSizeFollowing(48, 96, 64)).toBe(32);
    expect(scaleViewSizeFollowing(112, 224, 160)).toBe(80);
    // one the user set stays (and validation names it if it no longer fits)
    expect(scaleViewSizeFollowing(40, 96, 64)).toBe(40);
  });

  it('the CPU demo overrides resolve', () => {
    const c = resolvePretrainConfig(cpuDemoOverrides());
    expect(c.data.imageSize).toBe(96);
    expect(c.backbone.baseWidth).toBe(16);
    expect(c.emd.scaleViewSize).toBeLessThan(c.data.imageSize);
  });

  it('names every bad field and the problem', () => {
    let error: unknown;
    try {
      resolvePretrainConfig({ method: 'mocov2', optim: { lr: -1, batchSize: 2.5 }, emd: { lambdda: 3 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['emd.lambdda', 'method', 'optim.batchSize', 'optim.lr']);
    expect((error as ConfigError).message).toContain(
      'method: must be one of byol, self-emd, moco-v2, simclr, got "mocov2"',
    );
    expect((error as ConfigError).message).toContain('emd.lambdda: is not a known field');
  });

  it('gives one issue per field, naming every bound the value misses', () => {
    const c = resolveUnchecked({ backbone: { baseWidth: 3.5 }, optim: { batchSize: 1 } });
    expect(pretrainConfigIssues(c)).toEqual([
      { path: 'backbone.baseWidth', message: 'must be a whole number ≥ 4, got 3.5' },
      { path: 'optim.batchSize', message: 'must be ≥ 2, got 1' },
    ]);
  });

  it('checks cross-field constraints once the shape is right', () => {
    expect(pretrainConfigIssues(resolveUnchecked({ data: { imageSize: 160 } }))).toEqual([]);
    const small = pretrainConfigIssues(
      resolveUnchecked({ data: { imageSize: 96 }, emd: { scaleViewSize: 128 } }),
    );
    expect(small).toEqual([
      { path: 'emd.scaleViewSize', message: 'must be smaller than data.imageSize (96)' },
    ]);
    // MoCo's queue must hold one step's keys (both views of the batch).
    const queue = { method: 'moco-v2', optim: { batchSize: 32 }, moco: { queueSize: 63 } };
    const merged = (o: object) => mergeDefaults(DEFAULT_PRETRAIN_CONFIG, o);
    expect(pretrainConfigIssues(merged(queue))).toEqual([
      { path: 'moco.queueSize', message: "must hold one step's keys: at least 2 × optim.batchSize (64)" },
    ]);
    expect(pretrainConfigIssues(merged({ ...queue, method: 'simclr' }))).toEqual([]);
  });

  it("moco-v2 and simclr have their papers' defaults, and the CPU demo sizes shrink them", () => {
    const c = resolvePretrainConfig({ method: 'moco-v2' });
    expect(c.moco).toEqual({
      queueSize: 65536,
      temperature: 0.2,
      momentum: 0.999,
      projectorHidden: 2048,
      projectionDim: 128,
    });
    expect(c.simclr).toEqual({ temperature: 0.5, projectorHidden: 2048, projectionDim: 128 });
    expect(projectionHead(c)).toEqual({ hidden: 2048, dim: 128 });
    expect(projectionHead(resolvePretrainConfig({ method: 'byol' }))).toEqual({ hidden: 4096, dim: 256 });
    const cpu = resolvePretrainConfig({ ...cpuDemoOverrides(), method: 'moco-v2' });
    expect(cpu.moco).toMatchObject({ queueSize: 256, temperature: 0.2, momentum: 0.99 });
    expect(isPretrainMethod('simclr') && !isPretrainMethod('random-init')).toBe(true);
  });

  it('says what Spatial Pyramid Crops compare at an image size', () => {
    expect(spcLevels(224, [7, 5, 3])).toEqual({ mapSide: 7, levels: [7, 5, 3], note: null });
    expect(spcLevels(96, [7, 5, 3])).toEqual({
      mapSide: 3,
      levels: [3],
      note: 'at 96 px the dense map is 3×3: every grid (7, 5, 3) gives the whole map, so the crops add nothing; levels start to differ at 128 px',
    });
    // 'same' padding rounds up: 80 px gives a 3×3 map, 160 px a 5×5 one.
    expect(spcLevels(80, [7, 5, 3]).mapSide).toBe(3);
    expect(spcLevels(160, [7, 5, 3])).toMatchObject({
      levels: [5, 3],
      note: 'at 160 px the dense map is 5×5: grids 7, 5, 3 give 2 distinct levels (5×5, 3×3); all differ from 224 px',
    });
  });

  it('one rule for which grids give distinct levels, on a map and at an image size', () => {
    expect(denseMapSide(224)).toBe(7);
    expect(denseMapSide(80)).toBe(3);
    expect(denseMapSide(225)).toBe(8);
    // grids[k] is level of[k]; grids that clamp to the map share its level.
    expect(spcDistinctGrids(7, 7, [7, 5, 3])).toEqual({ distinct: [7, 5, 3], of: [0, 1, 2] });
    expect(spcDistinctGrids(4, 4, [7, 5, 3])).toEqual({ distinct: [7, 3], of: [0, 0, 1] });
    expect(spcDistinctGrids(3, 3, [3, 7, 5])).toEqual({ distinct: [3], of: [0, 0, 0] });
    expect(spcDistinctGrids(5, 3, [5, 3])).toEqual({ distinct: [5, 3], of: [0, 1] });
    expect(spcDistinctGrids(3, 3, undefined)).toEqual({ distinct: [3], of: [0] });
    // What a level picker offers: the grids that are a g×g pooling of their own, largest first.
    expect(spcSelectableGrids(224, [7, 5, 3])).toEqual([7, 5, 3]);
    expect(spcSelectableGrids(160, [3, 7, 5])).toEqual([5, 3]);
    expect(spcSelectableGrids(64, [7, 5, 3])).toEqual([]);
    expect(spcSelectableGrids(96, [7, 5, 3, 3])).toEqual([3]);
    // The picker's grids and spcLevels agree on which levels exist.
    for (const size of [64, 96, 128, 160, 192, 224, 256])
      for (const g of spcSelectableGrids(size, [7, 5, 3]))
        expect(spcLevels(size, [7, 5, 3]).levels).toContain(g);
  });

  it('plans pretraining steps as the trainer takes them', () => {
    const c = resolvePretrainConfig({
      optim: { batchSize: 16, accumulate: 2, epochs: 3, warmupEpochs: 0.5 },
    });
    // 100 images in effective batches of 32: 3 whole steps an epoch (the rest is dropped).
    expect(plannedPretrainSteps(c, 100)).toEqual({ stepsPerEpoch: 3, totalSteps: 9, warmupSteps: 2 });
    // Fewer images than an effective batch, but a whole micro-batch: one step an epoch.
    expect(plannedPretrainSteps(c, 20)).toEqual({ stepsPerEpoch: 1, totalSteps: 3, warmupSteps: 1 });
    // Fractional epochs round to whole steps, never below one.
    const short = resolvePretrainConfig({ optim: { batchSize: 16, epochs: 0.01 } });
    expect(plannedPretrainSteps(short, 64).totalSteps).toBe(1);
    expect(
      plannedPretrainSteps(resolvePretrainConfig({ optim: { batchSize: 16, epochs: 2.5 } }), 64).totalSteps,
    ).toBe(10);
    // Less than one micro-batch: nothing to train on, said without throwing or by throwing.
    expect(pretrainDatasetTooSmall(c, 15)).toBe(
      'the dataset has 15 usable image(s), fewer than one batch (optim.batchSize = 16)',
    );
    expect(pretrainDatasetTooSmall(c, 16)).toBeNull();
    expect(() => plannedPretrainSteps(c, 15)).toThrow(/fewer than one batch \(optim.batchSize = 16\)/);
  });
});

function resolveUnchecked(overrides: Record<string, Record<string, unknown>>) {
  const c = structuredClone(DEFAULT_PRETRAIN_CONFIG) as unknown as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(overrides)) c[k] = { ...c[k], ...v };
  return c;
}

describe('the MoCo queue against the dataset', () => {
  it('is named when it holds more than one epoch of keys, and not otherwise', () => {
    const gpu = resolvePretrainConfig({ method: 'moco-v2' });
    expect(mocoQueueNote(gpu, 256)).toBe(
      `moco.queueSize 65536 is more than one epoch's keys (2 × 256 images = 512): the queue will hold earlier keys of the same images as negatives; a queue of at most 512 keeps each image in it once`,
    );
    expect(mocoQueueNote(gpu, 32768)).toBeNull();
    const demo = resolvePretrainConfig(mergeDefaults(cpuDemoOverrides(), { method: 'moco-v2' }));
    expect(mocoQueueNote(demo, 256)).toBeNull();
    // A tiny set still keeps one step's keys (2 × batch).
    expect(mocoQueueNote(demo, 4)).toMatch(/at most 32 keeps/);
    expect(mocoQueueNote(resolvePretrainConfig({ method: 'byol' }), 4)).toBeNull();
  });
});
