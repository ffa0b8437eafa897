/** A study's arms, the rule that SSL arms differ only in their method fields, and how its numbers read. */
import { describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import { mergeDefaults } from '../../shared/config/validation';
import {
  ARM_METHOD_FIELDS,
  STUDY_SSL_ARMS,
  configDifferences,
  nonMethodDifferences,
  parseStudyArms,
} from '../../shared/config/study';
import { oneDecimal, signedOneDecimal } from '../../shared/metrics/study-format';

describe('study arms', () => {
  it('parses names and file arms, refusing unknown, single and repeated arms', () => {
    expect(parseStudyArms('random, byol,file:/w/sup.safetensors')).toEqual([
      { name: 'random', kind: 'random' },
      { name: 'byol', kind: 'ssl' },
      { name: 'file:/w/sup.safetensors', kind: 'file', path: '/w/sup.safetensors' },
    ]);
    expect(parseStudyArms('moco-v2,simclr,supervised:/w/resnet18.pth')).toEqual([
      { name: 'moco-v2', kind: 'ssl' },
      { name: 'simclr', kind: 'ssl' },
      { name: 'supervised', kind: 'file', path: '/w/resnet18.pth' },
    ]);
    expect(() => parseStudyArms('random,swav')).toThrow(
      /arm "swav": not one of random, byol, moco-v2, simclr/,
    );
    expect(() => parseStudyArms('random,supervised:')).toThrow(/supervised:PATH/);
    expect(() => parseStudyArms('byol')).toThrow(/at least two arms/);
    expect(() => parseStudyArms('byol,byol')).toThrow(/byol is named twice/);
  });

  it('each SSL arm differs from the shared config in its method fields only', () => {
    const shared = resolvePretrainConfig(mergeDefaults({ optim: { epochs: 3 } }, ARM_METHOD_FIELDS.byol));
    for (const arm of STUDY_SSL_ARMS) {
      const config = resolvePretrainConfig(mergeDefaults(shared, ARM_METHOD_FIELDS[arm]));
      expect(nonMethodDifferences(shared, config), arm).toEqual([]);
    }
    const eq12 = resolvePretrainConfig(mergeDefaults(shared, ARM_METHOD_FIELDS['self-emd-eq12']));
    expect(configDifferences(shared, eq12)).toEqual(['emd.marginals', 'emd.scaleView', 'emd.spc', 'method']);
    expect(nonMethodDifferences(shared, { ...eq12, optim: { ...eq12.optim, lr: 1 } })).toEqual(['optim.lr']);
    // the contrastive baselines differ in their method only: their own sections are shared defaults
    const moco = resolvePretrainConfig(mergeDefaults(shared, ARM_METHOD_FIELDS['moco-v2']));
    expect(configDifferences(shared, moco)).toEqual(['method']);
    expect(moco.moco.temperature).toBe(0.2);
  });

  it('writes percent with one decimal and a real minus, zero never negative', () => {
    expect(signedOneDecimal(1.23)).toBe('+1.2');
    expect(signedOneDecimal(-0.31)).toBe('−0.3');
    expect(signedOneDecimal(-0.04)).toBe('+0.0');
    expect(oneDecimal(null)).toBe('—');
    expect(oneDecimal(Number.NaN)).toBe('—');
    expect(oneDecimal(12.345)).toBe('12.3');
  });
});
