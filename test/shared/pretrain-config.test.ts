import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRETRAIN_CONFIG,
  cpuDemoOverrides,
  pretrainConfigIssues,
  resolvePretrainConfig,
  spcLevels,
} from '../../shared/config/pretrain';
import { ConfigError } from '../../shared/config/validation';

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

  it('the CPU demo overrides resolve', () => {
    const c = resolvePretrainConfig(cpuDemoOverrides());
    expect(c.data.imageSize).toBe(96);
    expect(c.backbone.baseWidth).toBe(32);
    expect(c.emd.scaleViewSize).toBeLessThan(c.data.imageSize);
  });

  it('names every bad field and the problem', () => {
    let error: unknown;
    try {
      resolvePretrainConfig({ method: 'simclr', optim: { lr: -1, batchSize: 2.5 }, emd: { lambdda: 3 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['emd.lambdda', 'method', 'optim.batchSize', 'optim.lr']);
    expect((error as ConfigError).message).toContain('method: must be one of byol, self-emd, got "simclr"');
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
});

function resolveUnchecked(overrides: Record<string, Record<string, unknown>>) {
  const c = structuredClone(DEFAULT_PRETRAIN_CONFIG) as unknown as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(overrides)) c[k] = { ...c[k], ...v };
  return c;
}
