/** The trainer's metric keys and how the studio labels them. */
import { QUICK_AP50_KEY } from '../../shared/config/finetune';

const METRIC_LABELS: Record<string, string> = {
  'loss/total': 'total loss',
  'loss/global': 'BYOL term',
  'loss/emd': 'EMD term',
  'opt/lr': 'learning rate',
  'opt/tau': 'τ (EMA)',
  'monitor/collapse_std': 'collapse monitor (std)',
  'perf/step_ms': 'step time (ms)',
  'perf/data_wait_ms': 'data wait (ms)',
  'perf/gpu_allocated_mb': 'GPU allocated (MB)',
  'perf/gpu_in_use_mb': 'GPU in use (MB)',
  'loss/loss_cls': 'classification',
  'loss/loss_box_reg': 'box regression',
  'loss/loss_rpn_cls': 'RPN objectness',
  'loss/loss_rpn_loc': 'RPN box',
  'loss/loss_mask': 'mask',
  'val/AP': 'val AP',
  'val/AP50': 'val AP50',
  'val/AP75': 'val AP75',
  'val/APs': 'val APs',
  'val/APm': 'val APm',
  'val/APl': 'val APl',
  'val/voc_mAP50': 'val VOC AP50',
  'val/segm_AP': 'val mask AP',
  'val/segm_AP50': 'val mask AP50',
  'val/segm_AP75': 'val mask AP75',
  'val/segm_APs': 'val mask APs',
  'val/segm_APm': 'val mask APm',
  'val/segm_APl': 'val mask APl',
  [QUICK_AP50_KEY]: 'quick AP50 (few val images)',
  'probe/linear_top1': 'probe: linear top-1',
  'probe/knn_top1': 'probe: kNN top-1',
};

export const LOSS_KEYS = ['loss/total', 'loss/global', 'loss/emd'];
export const COLLAPSE_KEY = 'monitor/collapse_std';
export const STEP_TIME_KEY = 'perf/step_ms';
/** A detector fine-tune's loss terms (RetinaNet: cls + box; Faster R-CNN adds the RPN's two; Mask R-CNN the mask's). */
export const FINETUNE_LOSS_KEYS = [
  'loss/total',
  'loss/loss_cls',
  'loss/loss_box_reg',
  'loss/loss_rpn_cls',
  'loss/loss_rpn_loc',
  'loss/loss_mask',
];
/**
 * Full evaluations (AP, AP50, VOC; a mask detector's mask AP and AP50) and the quick AP50 on a few
 * val images between them. Keys a run never logged are left out of its charts.
 */
export const FINETUNE_VAL_KEYS = [
  'val/AP',
  'val/AP50',
  'val/voc_mAP50',
  'val/segm_AP',
  'val/segm_AP50',
  QUICK_AP50_KEY,
];
/** The detection probe during pretraining (box classification accuracy on its val boxes). */
export const PROBE_KEYS = ['probe/linear_top1', 'probe/knn_top1'];
/** COCO's six AP summary numbers, in the order COCOeval prints them. */
export const COCO_AP_KEYS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'];

/**
 * The one label every chart, legend, picker and table gives a metric key. A key the table does not
 * know yet (a new loss term) still reads as words: its last path part, underscores as spaces.
 */
export function metricLabel(key: string): string {
  const known = METRIC_LABELS[key];
  if (known) return known;
  const [group, ...rest] = key.split('/');
  const name = (rest.length > 0 ? rest.join(' ') : (group ?? key)).replace(/_/g, ' ');
  return group === 'val' && rest.length > 0 ? `val ${name}` : name;
}

/** Distinct colours for overlaid runs and series (ordered for contrast on dark and light). */
export const PALETTE = [
  '#4f9dff',
  '#f5a524',
  '#2fbf71',
  '#e5484d',
  '#a77bf3',
  '#12b5b0',
  '#e87ec0',
  '#9aa4b2',
];

/**
 * What the loss chart shows, in words that fit the run: BYOL's total is its one term, so the two
 * lines coincide (said rather than one hidden); Self-EMD adds the dense EMD term; a fine-tune's are
 * the detector's.
 */
export function lossChartSubtitle(run: { kind: string; method: string }): string {
  if (run.kind === 'finetune') return 'total and the detector’s terms';
  if (run.method === 'byol') return 'total = BYOL term (BYOL has no EMD term: the two lines coincide)';
  if (run.method === 'moco-v2') return 'total = InfoNCE against the queue (one term: the two lines coincide)';
  if (run.method === 'simclr') return 'total = NT-Xent over the batch (one term: the two lines coincide)';
  return 'total = weighted BYOL (global) term + EMD term';
}
