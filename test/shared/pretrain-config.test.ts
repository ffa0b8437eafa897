import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRETRAIN_CONFIG,
  cpuDemoOverrides,
  pretrainConfigIssues,
  resolvePretrainConfig,
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

  it('checks cross-field constraints once the shape is right', () => {
    expect(pretrainConfigIssues(resolveUnchecked({ data: { imageSize: 160 } }))).toEqual([]);
    const small = pretrainConfigIssues(resolveUnchecked({ data: { imageSize: 96 }, emd: { scaleViewSize: 128 } }));
    expect(small).toEqual([{ path: 'emd.scaleViewSize', message: 'must be smaller than data.imageSize (96)' }]);
  });
});

function resolveUnchecked(overrides: Record<string, Record<string, unknown>>) {
  const c = structuredClone(DEFAULT_PRETRAIN_CONFIG) as unknown as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(overrides)) c[k] = { ...c[k], ...v };
  return c;
}
