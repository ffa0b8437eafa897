/**
 * A detector's weights under torchvision's module names, so torchvision's RetinaNet / Faster R-CNN
 * (with an FPN on our ResNet, built as bench/torch_detection_reference.py builds them) load them
 * with `load_state_dict(strict=True)`. Our names are detectron2's; the renames and the three
 * value changes are:
 *
 * - backbone → `backbone.body.*` (already torchvision's ResNet names);
 * - FPN `fpn_lateral{s}` / `fpn_output{s}` → `backbone.fpn.inner_blocks.{i}` / `layer_blocks.{i}`
 *   (`.0` the conv, `.1` its BN), `top_block.p6|p7` → `backbone.fpn.extra_blocks.p6|p7`;
 * - RetinaNet `cls_subnet` / `bbox_subnet` → `head.classification_head.conv` /
 *   `head.regression_head.conv` (`{i}.0` conv, `{i}.1` norm), `cls_score` → `cls_logits`,
 *   `bbox_pred` → `bbox_reg`. With head BN, torchvision's convs have no bias: ours is dropped
 *   (a bias before batch-statistics BN changes nothing; it is 0 at init). The per-level BN
 *   statistics keep our `.{level}.running_mean` names (the reference's CycleBatchNorm2d);
 * - RPN `conv` → `rpn.head.conv.0.0`, `objectness_logits` → `rpn.head.cls_logits`,
 *   `anchor_deltas` → `rpn.head.bbox_pred`;
 * - box head `box_head.fc{i}` → `roi_heads.box_head.fc{5+i}`, with fc6's input columns reordered
 *   from our NHWC-flattened RoI features (y, x, c) to torch's (c, y, x);
 * - box predictor: torchvision puts background at class 0, detectron2 at class K, so
 *   `cls_score` rows rotate; torchvision's `bbox_pred` also has a background class, whose 4 rows
 *   (never used by its loss or inference) are written as zeros;
 * - Mask R-CNN's mask head (torchvision's MaskRCNNHeads, version 2 names, and MaskRCNNPredictor):
 *   `mask_head.mask_fcn{i}` → `roi_heads.mask_head.{i−1}.0`, `mask_head.deconv` →
 *   `roi_heads.mask_predictor.conv5_mask` (our [2, 2, out, in] is torch's ConvTranspose2d
 *   [in, out, 2, 2] after the usual conv transpose), `mask_head.predictor` →
 *   `roi_heads.mask_predictor.mask_fcn_logits` with a zero background mask at row 0.
 */
import type { FinetuneConfig } from '../../../shared/config/finetune';
import type { Detector } from '../detection/detector';
import type { SafetensorsTensor } from './safetensors';
import { parameterSetToTorchTensors, type TorchExport } from './torch-state-dict';

type F32Tensor = Extract<SafetensorsTensor, { dtype: 'F32' }>;

/** Where one of our tensors goes in torchvision: a name, or null when torchvision has no such tensor. */
type Rename = (name: string) => string | null;

function fpnRename(firstStage: number): Rename {
  return (name) => {
    const m = /^fpn_(lateral|output)(\d)\.(norm\.)?(.+)$/.exec(name);
    if (m) {
      const blocks = m[1] === 'lateral' ? 'inner_blocks' : 'layer_blocks';
      return `backbone.fpn.${blocks}.${Number(m[2]) - firstStage}.${m[3] ? 1 : 0}.${m[4]}`;
    }
    const t = /^top_block\.(p6|p7)\.(.+)$/.exec(name);
    if (t) return `backbone.fpn.extra_blocks.${t[1]}.${t[2]}`;
    throw new Error(`torchvision export: unexpected FPN tensor "${name}"`);
  };
}

function retinaHeadRename(norm: boolean): Rename {
  const step = norm ? 3 : 2;
  const heads: Record<string, string> = { cls_subnet: 'classification_head', bbox_subnet: 'regression_head' };
  return (name) => {
    if (name.startsWith('cls_score.')) return `head.classification_head.cls_logits.${name.slice(10)}`;
    if (name.startsWith('bbox_pred.')) return `head.regression_head.bbox_reg.${name.slice(10)}`;
    const m = /^(cls_subnet|bbox_subnet)\.(\d+)\.(.+)$/.exec(name);
    if (!m) throw new Error(`torchvision export: unexpected RetinaNet head tensor "${name}"`);
    const j = Number(m[2]);
    const conv = Math.floor(j / step);
    const isNorm = j % step === 1 && norm;
    if (!isNorm && norm && m[3] === 'bias') return null;
    return `head.${heads[m[1]!]}.conv.${conv}.${isNorm ? 1 : 0}.${m[3]}`;
  };
}

const rpnRename: Rename = (name) => {
  const m = /^(conv|objectness_logits|anchor_deltas)\.(.+)$/.exec(name);
  if (!m) throw new Error(`torchvision export: unexpected RPN tensor "${name}"`);
  const to = { conv: 'conv.0.0', objectness_logits: 'cls_logits', anchor_deltas: 'bbox_pred' }[m[1]!];
  return `rpn.head.${to}.${m[2]}`;
};

const roiRename: Rename = (name) => {
  const fc = /^box_head\.fc(\d+)\.(.+)$/.exec(name);
  if (fc) return `roi_heads.box_head.fc${5 + Number(fc[1])}.${fc[2]}`;
  if (name.startsWith('box_predictor.')) return `roi_heads.${name}`;
  throw new Error(`torchvision export: unexpected box head tensor "${name}"`);
};

const maskRename: Rename = (name) => {
  const fcn = /^mask_head\.mask_fcn(\d+)\.(.+)$/.exec(name);
  if (fcn) return `roi_heads.mask_head.${Number(fcn[1]) - 1}.0.${fcn[2]}`;
  const m = /^mask_head\.(deconv|predictor)\.(.+)$/.exec(name);
  if (m) return `roi_heads.mask_predictor.${m[1] === 'deconv' ? 'conv5_mask' : 'mask_fcn_logits'}.${m[2]}`;
  throw new Error(`torchvision export: unexpected mask head tensor "${name}"`);
};

/** fc6's [out, P·P·C] with columns (y, x, c) → columns (c, y, x). */
function reorderPooledColumns(t: F32Tensor, P: number, C: number): F32Tensor {
  const [out, inDim] = t.shape as [number, number];
  if (inDim !== P * P * C)
    throw new Error(`torchvision export: ${t.name} has ${inDim} inputs, expected ${P}·${P}·${C}`);
  const src = t.data;
  const dst = new Float32Array(src.length);
  for (let o = 0; o < out; o++)
    for (let y = 0; y < P; y++)
      for (let x = 0; x < P; x++)
        for (let c = 0; c < C; c++)
          dst[o * inDim + (c * P + y) * P + x] = src[o * inDim + (y * P + x) * C + c]!;
  return { ...t, data: dst };
}

/** Rows of a [rows, ...] tensor: background row(s) moved / added at the front (`zeros4`: 4 rows, `zeros1`: 1). */
function withBackgroundFirst(t: F32Tensor, kind: 'rotate' | 'zeros4' | 'zeros1'): F32Tensor {
  const rows = t.shape[0]!;
  const rowSize = t.data.length / rows;
  if (kind === 'rotate') {
    const dst = new Float32Array(t.data.length);
    dst.set(t.data.subarray((rows - 1) * rowSize), 0);
    dst.set(t.data.subarray(0, (rows - 1) * rowSize), rowSize);
    return { ...t, data: dst };
  }
  const zeros = kind === 'zeros4' ? 4 : 1;
  const dst = new Float32Array(t.data.length + zeros * rowSize);
  dst.set(t.data, zeros * rowSize);
  return { ...t, shape: [rows + zeros, ...t.shape.slice(1)], data: dst };
}

export interface TorchvisionDetectorExport extends TorchExport {
  /** Our tensors torchvision has no place for (RetinaNet head conv biases before BN). */
  dropped: string[];
}

/** Every weight and BN statistic of `detector` as torchvision's state_dict (see the file comment). */
export async function detectorToTorchvisionTensors(
  detector: Detector,
  config: FinetuneConfig,
  metadata: Record<string, string> = {},
): Promise<TorchvisionDetectorExport> {
  const retina = detector.kind === 'retinanet';
  const renames: Record<string, Rename> = retina
    ? {
        backbone: (n) => `backbone.body.${n}`,
        fpn: fpnRename(3),
        head: retinaHeadRename(config.retinanet.headNorm !== 'none'),
      }
    : {
        backbone: (n) => `backbone.body.${n}`,
        fpn: fpnRename(2),
        rpn: rpnRename,
        roi_heads: roiRename,
        roi_mask_head: maskRename,
      };
  const tensors: SafetensorsTensor[] = [];
  const dropped: string[] = [];
  for (const [part, set] of detector.parts) {
    const rename = renames[part];
    if (!rename) throw new Error(`torchvision export: no mapping for ${detector.kind} part "${part}"`);
    const ours = await parameterSetToTorchTensors(set, 'linear');
    const names = new Set(ours.map((t) => t.name));
    // BNs whose statistics are kept per level (`bn.{l}.running_mean`) get no num_batches_tracked from
    // parameterSetToTorchTensors; torch's BatchNorm2d has one per level.
    for (const [bn, count] of set.numBatchesTracked ?? [])
      if (!names.has(`${bn}.num_batches_tracked`) && names.has(`${bn}.running_mean`))
        ours.push({
          name: `${bn}.num_batches_tracked`,
          dtype: 'I64',
          shape: [],
          data: BigInt64Array.of(BigInt(count)),
        });
    for (let t of ours) {
      const to = rename(t.name);
      if (to === null) {
        dropped.push(`${part}/${t.name}`);
        continue;
      }
      if (t.dtype === 'F32') {
        if (/^box_head\.fc1\.weight$/.test(t.name))
          t = reorderPooledColumns(t, config.roiHeads.poolerResolution, config.fpn.channels);
        if (t.name.startsWith('box_predictor.cls_score.')) t = withBackgroundFirst(t, 'rotate');
        if (t.name.startsWith('box_predictor.bbox_pred.')) t = withBackgroundFirst(t, 'zeros4');
        if (t.name.startsWith('mask_head.predictor.')) t = withBackgroundFirst(t, 'zeros1');
      }
      tensors.push({ ...t, name: to });
    }
  }
  return {
    tensors,
    dropped,
    metadata: {
      format: 'pt',
      ...metadata,
      detector: detector.kind,
      numClasses: String(detector.numClasses),
      dropped: dropped.join(','),
    },
  };
}
