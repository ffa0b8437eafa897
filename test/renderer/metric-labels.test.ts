import { describe, expect, it } from 'vitest';
import { QUICK_AP50_KEY } from '../../shared/config/finetune';
import { metricLabel } from '../../src-renderer/lib/metric-keys';

/** Every key the trainers record (training loop, pretraining task, fine-tune task and its evaluation). */
const RECORDED_KEYS = [
  'loss/total',
  'loss/global',
  'loss/emd',
  'loss/loss_cls',
  'loss/loss_box_reg',
  'loss/loss_rpn_cls',
  'loss/loss_rpn_loc',
  'opt/lr',
  'opt/tau',
  'monitor/collapse_std',
  'perf/step_ms',
  'perf/data_wait_ms',
  'perf/gpu_allocated_mb',
  'perf/gpu_in_use_mb',
  'val/AP',
  'val/AP50',
  'val/AP75',
  'val/APs',
  'val/APm',
  'val/APl',
  'val/voc_mAP50',
  QUICK_AP50_KEY,
  'probe/linear_top1',
  'probe/knn_top1',
];

describe('metric labels', () => {
  it('gives every recorded key a worded label (no raw key, slash or underscore), each distinct', () => {
    const labels = RECORDED_KEYS.map(metricLabel);
    for (const [i, label] of labels.entries()) {
      expect(label, RECORDED_KEYS[i]).not.toBe(RECORDED_KEYS[i]);
      expect(label, RECORDED_KEYS[i]).not.toMatch(/[/_]/);
    }
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('words a key it does not know the same way: last path part, underscores as spaces', () => {
    expect(metricLabel('loss/loss_keypoint')).toBe('loss keypoint');
    // Mask R-CNN's mask term is known
    expect(metricLabel('loss/loss_mask')).toBe('mask');
    expect(metricLabel('val/AP_custom')).toBe('val AP custom');
    expect(metricLabel('steps_done')).toBe('steps done');
  });
});
