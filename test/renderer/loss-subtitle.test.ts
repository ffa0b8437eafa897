import { describe, expect, it } from 'vitest';
import { lossChartSubtitle } from '../../src-renderer/lib/metric-keys';

describe('the loss chart’s subtitle', () => {
  it('matches the method: BYOL says its total is its one term, Self-EMD names both, fine-tunes the detector’s', () => {
    expect(lossChartSubtitle({ kind: 'pretrain', method: 'byol' })).toBe(
      'total = BYOL term (BYOL has no EMD term: the two lines coincide)',
    );
    expect(lossChartSubtitle({ kind: 'pretrain', method: 'self-emd' })).toMatch(
      /BYOL \(global\) term \+ EMD term/,
    );
    expect(lossChartSubtitle({ kind: 'pretrain', method: 'moco-v2' })).toMatch(/^total = InfoNCE/);
    expect(lossChartSubtitle({ kind: 'pretrain', method: 'simclr' })).toMatch(/^total = NT-Xent/);
    expect(lossChartSubtitle({ kind: 'finetune', method: 'retinanet' })).toBe(
      'total and the detector’s terms',
    );
  });
});
