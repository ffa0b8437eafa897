"""torchvision reference for `npm run bench:detection` (issue 12): torchvision's RetinaNet and
Faster R-CNN with an FPN on a ResNet of our width (bench/torch_reference.py's ResNet, torchvision's
parameter names), trained from OUR initial weights on the same images, sizes, batch, schedule and
steps, then run on the val images; the detections are written as COCO results for OUR evaluator.

Everything about the run comes from the JSON the TypeScript side writes (bench/detection-bench.ts,
`writeReferenceSpec`): the resolved fine-tune config (recipe constants live only there), the
per-step learning rates, the COCO folder of the demo scenes, the weights file and ImageNet's
mean / std. Nothing of the recipe is repeated here.

    torch_detection_reference.py SPEC.json                    train, evaluate, write spec["detections"]
    torch_detection_reference.py SPEC.json --check BATCH      one training-mode forward on a batch our
                                                              side built (no update): prints the losses
    torch_detection_reference.py SPEC.json --detect-only      no training: the weights' val detections
                                                              (bench/detection-cross-eval.ts)

Where torchvision has a knob, it is set to our config; where the two must be made to agree in code
the module says so at the class (anchors, head BN per level, loss hyper-parameters, RoIAlign's
half-pixel offset). What remains different is listed in docs/detection.md ("torchvision reference").
Prints one JSON line per event ({"event": "step" | "eval" | "done" | "check", ...}).
"""
import functools
import json
import math
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.models.detection.roi_heads as tv_roi_heads
import torchvision.ops.poolers as tv_poolers
from PIL import Image
from torchvision.models.detection import FasterRCNN, MaskRCNN, RetinaNet
from torchvision.models.detection._utils import _box_loss
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.retinanet import (
    RetinaNetClassificationHead,
    RetinaNetHead,
    RetinaNetRegressionHead,
)
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign, sigmoid_focal_loss
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import Conv2dNormActivation, FrozenBatchNorm2d

from safetensors_io import read_safetensors
from torch_reference import ResNet

# Raw (un-normalised) loss sums of the last training forward, for the cross-check with ours.
LAST = {}


def emit(**event):
    print(json.dumps(event), flush=True)


# ------------------------------------------------------------------------------------------ model


class ResNetBody(ResNet):
    """bench/torch_reference.py's ResNet (torchvision's names, any base width) without fc,
    returning the stages an FPN needs as an OrderedDict ("0", "1", ...)."""

    def __init__(self, name, width, stages, frozen_bn, freeze_at):
        super().__init__(name, width)
        del self.fc
        self.stages = stages
        if frozen_bn:
            _freeze_bn(self)
        frozen = [self.conv1, self.bn1] if freeze_at >= 1 else []
        frozen += [getattr(self, f"layer{i}") for i in range(1, 5) if freeze_at >= i + 1]
        for m in frozen:
            for p in m.parameters():
                p.requires_grad_(False)

    def channels(self, stage):
        return self.layer1[0].conv1.out_channels * 2 ** (stage - 2) * type(self.layer1[0]).expansion

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        out = OrderedDict()
        for s in range(2, 6):
            x = getattr(self, f"layer{s - 1}")(x)
            if s in self.stages:
                out[str(len(out))] = x
        return out


def _freeze_bn(module):
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm2d(child.num_features, eps=child.eps))
        else:
            _freeze_bn(child)


class BodyWithFpn(nn.Module):
    """torchvision's BackboneWithFPN (names `backbone.body.*`, `backbone.fpn.*`) on a module body:
    its IntermediateLayerGetter needs the stem's ReLU / max-pool as modules, which ours are not."""

    def __init__(self, body, in_channels, out_channels, extra, norm_layer):
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(in_channels, out_channels, extra_blocks=extra, norm_layer=norm_layer)
        self.out_channels = out_channels

    def forward(self, x):
        return self.fpn(self.body(x))


class DetectronAnchors(AnchorGenerator):
    """Our anchors (src-main/engine/detection/anchors.ts, detectron2's DefaultAnchorGenerator):
    cell anchors size-major then ratio and not rounded, centred at (x·stride, y·stride) with the
    configured strides. torchvision's AnchorGenerator orders them ratio-major, rounds them to
    integers and infers each stride as image size // map size, which at P6 / P7 of a 96 px input is
    48 / 96 instead of 64 / 128; the head's A channels must be in our order to share its weights."""

    def __init__(self, sizes_per_level, ratios, strides):
        super().__init__(tuple(tuple(s) for s in sizes_per_level), (tuple(ratios),) * len(sizes_per_level))
        cells = []
        for sizes in sizes_per_level:
            cell = []
            for size in sizes:
                for ratio in ratios:
                    w = math.sqrt(size * size / ratio)
                    h = ratio * w
                    cell.append([-w / 2, -h / 2, w / 2, h / 2])
            cells.append(torch.tensor(cell, dtype=torch.float32))
        self.cells = cells
        self.strides = strides

    def forward(self, image_list, feature_maps):
        levels = []
        for cell, stride, fmap in zip(self.cells, self.strides, feature_maps):
            h, w = fmap.shape[-2:]
            ys, xs = torch.meshgrid(torch.arange(h) * stride, torch.arange(w) * stride, indexing="ij")
            shifts = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4).float()
            levels.append((shifts + cell.view(1, -1, 4)).reshape(-1, 4))
        anchors = torch.cat(levels)
        return [anchors for _ in image_list.image_sizes]


class CycleBatchNorm2d(nn.ModuleList):
    """detectron2's CycleBatchNormList (our RetinaNet head BN): γ / β shared by the pyramid levels,
    batch and running statistics per level; the k-th call of a forward is level k mod L.
    torchvision's head with norm_layer=BatchNorm2d shares the running statistics across levels."""

    def __init__(self, channels, levels):
        super().__init__([nn.BatchNorm2d(channels, affine=False) for _ in range(levels)])
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.position = 0

    def forward(self, x):
        y = self[self.position](x)
        self.position = (self.position + 1) % len(self)
        return y * self.weight[:, None, None] + self.bias[:, None, None]


class PassThroughTransform(GeneralizedRCNNTransform):
    """Images arrive resized, flipped and normalised by `make_batch` (our geometry, one short side
    per batch); torchvision's transform then only pads them to a multiple of 32 and batches them."""

    def resize(self, image, target=None):
        return image, target

    def normalize(self, image):
        return image


def smooth_l1(pred, target, beta):
    return F.l1_loss(pred, target, reduction="sum") if beta < 1e-5 else F.smooth_l1_loss(pred, target, beta=beta, reduction="sum")


class FocalClassificationHead(RetinaNetClassificationHead):
    """torchvision's loss (per-image sums over non-ignored anchors / max(1, foreground of the
    image), averaged over images) with our α and γ; records the batch's raw sum."""

    def compute_loss(self, targets, head_outputs, matched_idxs):
        losses, raw, fg = [], 0.0, 0
        for t, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            n = int(foreground.sum())
            target = torch.zeros_like(logits)
            target[foreground, t["labels"][matched[foreground]]] = 1.0
            valid = matched != self.BETWEEN_THRESHOLDS
            s = sigmoid_focal_loss(logits[valid], target[valid], alpha=self.alpha, gamma=self.gamma, reduction="sum")
            raw += float(s.detach())
            fg += n
            losses.append(s / max(1, n))
        LAST.update(cls_sum=raw, num_foreground=fg)
        return sum(losses) / len(targets)


class BoxRegressionHead(RetinaNetRegressionHead):
    """torchvision's loss with our box loss (smooth L1 with our β, or GIoU); records the raw sum."""

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        losses, raw = [], 0.0
        for t, reg, anc, matched in zip(targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            fg = torch.where(matched >= 0)[0]
            kind = "giou" if self.box_loss == "giou" else "smooth_l1"
            s = _box_loss(kind, self.box_coder, anc[fg], t["boxes"][matched[fg]], reg[fg], {"beta": self.beta})
            raw += float(s.detach())
            losses.append(s / max(1, fg.numel()))
        LAST.update(box_sum=raw)
        return sum(losses) / max(1, len(targets))


class ConfiguredRpn(RegionProposalNetwork):
    """torchvision's RPN loss (BCE mean over the sampled anchors, box loss summed over sampled
    positives / sampled count) with our box loss β instead of its fixed 1/9."""

    beta = 0.0

    def compute_loss(self, objectness, pred_bbox_deltas, labels, regression_targets):
        pos, neg = self.fg_bg_sampler(labels)
        pos = torch.where(torch.cat(pos, dim=0))[0]
        neg = torch.where(torch.cat(neg, dim=0))[0]
        sampled = torch.cat([pos, neg], dim=0)
        objectness = objectness.flatten()
        labels = torch.cat(labels, dim=0)
        targets = torch.cat(regression_targets, dim=0)
        box = smooth_l1(pred_bbox_deltas[pos], targets[pos], self.beta) / sampled.numel()
        cls = F.binary_cross_entropy_with_logits(objectness[sampled], labels[sampled])
        LAST.update(rpn_sampled=int(sampled.numel()), rpn_positive=int(pos.numel()))
        return cls, box


def configured_fastrcnn_loss(beta):
    """torchvision's fastrcnn_loss (cross-entropy mean, box loss summed over foreground RoIs /
    sampled count) with our β instead of its fixed 1/9."""

    def loss(class_logits, box_regression, labels, regression_targets):
        labels = torch.cat(labels, dim=0)
        regression_targets = torch.cat(regression_targets, dim=0)
        cls = F.cross_entropy(class_logits, labels)
        pos = torch.where(labels > 0)[0]
        n = class_logits.shape[0]
        box_regression = box_regression.reshape(n, box_regression.size(-1) // 4, 4)
        box = smooth_l1(box_regression[pos, labels[pos]], regression_targets[pos], beta) / labels.numel()
        LAST.update(roi_sampled=int(labels.numel()), roi_positive=int(pos.numel()))
        return cls, box

    return loss


def head_convs(channels, count, norm_layer):
    return nn.Sequential(*[Conv2dNormActivation(channels, channels, norm_layer=norm_layer) for _ in range(count)])


def mask_parts(c, C, K):
    """Mask R-CNN's mask branch at our config (roiMaskHead; torchvision's version-2 MaskRCNNHeads
    names, which our export writes): RoIAlign on the same levels, numConv 3×3 convs of convDim, the
    2×2 deconv and the 1×1 per-class logits (background first). Empty for Faster R-CNN. Only built
    and loaded here (the --check losses and training cover the box detectors)."""
    if c["detector"] != "mask-rcnn":
        return {}
    m = c["roiMaskHead"]
    if m["numConv"] < 1:
        raise SystemExit("roiMaskHead.numConv 0: torchvision's MaskRCNNHeads has at least one conv")
    return {
        "mask_roi_pool": MultiScaleRoIAlign(["0", "1", "2", "3"], m["poolerResolution"], m["samplingRatio"],
                                            canonical_scale=c["roiHeads"]["canonicalBoxSize"],
                                            canonical_level=c["roiHeads"]["canonicalLevel"]),
        "mask_head": MaskRCNNHeads(C, [m["convDim"]] * m["numConv"], 1),
        "mask_predictor": MaskRCNNPredictor(m["convDim"], m["convDim"], K + 1),
    }


def build_model(spec):
    c = spec["config"]
    K = len(spec["categories"])
    bb = c["backbone"]
    C = c["fpn"]["channels"]
    fpn_norm = nn.BatchNorm2d if c["fpn"]["norm"] == "bn" else None
    transform = PassThroughTransform(1, 1, [0.0] * 3, [1.0] * 3, size_divisible=32)
    if c["detector"] == "retinanet":
        rc = c["retinanet"]
        body = ResNetBody(bb["name"], bb["baseWidth"], [3, 4, 5], bb["norm"] == "frozen-bn", bb["freezeAt"])
        # P6 from C5 (its channels differ from the FPN's, so LastLevelP6P7 uses C5, as detectron2)
        extra = LastLevelP6P7(body.channels(5), C)
        backbone = BodyWithFpn(body, [body.channels(s) for s in (3, 4, 5)], C, extra, fpn_norm)
        strides = [8, 16, 32, 64, 128]
        anchors = DetectronAnchors([[s * k for k in rc["anchorScales"]] for s in rc["anchorSizes"]], rc["anchorRatios"], strides)
        A = len(rc["anchorScales"]) * len(rc["anchorRatios"])
        norm = {
            "bn": functools.partial(CycleBatchNorm2d, levels=5),
            # torchvision's RetinaNet v2 head norm (its convs then have no bias, as ours)
            "gn": lambda channels: nn.GroupNorm(rc["headNormGroups"], channels),
        }.get(rc["headNorm"])
        head = RetinaNetHead(C, A, K)
        head.classification_head.__class__ = FocalClassificationHead
        head.classification_head.alpha = rc["focalAlpha"]
        head.classification_head.gamma = rc["focalGamma"]
        head.regression_head.__class__ = BoxRegressionHead
        head.regression_head.box_loss = rc["boxLoss"]
        head.regression_head.beta = rc["smoothL1Beta"]
        head.classification_head.conv = head_convs(C, rc["numConvs"], norm)
        head.regression_head.conv = head_convs(C, rc["numConvs"], norm)
        lo, hi = rc["iouThresholds"]
        if not rc["allowLowQualityMatches"]:
            raise SystemExit("retinanet.allowLowQualityMatches false: torchvision's RetinaNet always allows them")
        model = RetinaNet(
            backbone, K, anchor_generator=anchors, head=head, score_thresh=rc["scoreThreshTest"],
            nms_thresh=rc["nmsThreshTest"], detections_per_img=c["test"]["detectionsPerImage"],
            fg_iou_thresh=hi, bg_iou_thresh=lo, topk_candidates=rc["topkCandidatesTest"],
        )
    else:
        rc, hc = c["rpn"], c["roiHeads"]
        for name, loss in (("rpn.boxLoss", rc["boxLoss"]), ("roiHeads.boxLoss", hc["boxLoss"])):
            if loss != "smooth-l1":
                raise SystemExit(f"{name} {loss}: the Faster R-CNN reference supports smooth-l1 only")
        body = ResNetBody(bb["name"], bb["baseWidth"], [2, 3, 4, 5], bb["norm"] == "frozen-bn", bb["freezeAt"])
        backbone = BodyWithFpn(body, [body.channels(s) for s in (2, 3, 4, 5)], C, LastLevelMaxPool(), fpn_norm)
        anchors = DetectronAnchors([[s] for s in rc["anchorSizes"]], rc["anchorRatios"], [4, 8, 16, 32, 64])
        P = hc["poolerResolution"]
        if hc["numFc"] != 2:
            raise SystemExit(f"roiHeads.numFc {hc['numFc']}: torchvision's box head (TwoMLPHead) has 2")
        pool = MultiScaleRoIAlign(["0", "1", "2", "3"], P, hc["samplingRatio"],
                                  canonical_scale=hc["canonicalBoxSize"], canonical_level=hc["canonicalLevel"])
        model = (MaskRCNN if c["detector"] == "mask-rcnn" else FasterRCNN)(
            backbone, None, **mask_parts(c, C, K), rpn_anchor_generator=anchors, rpn_head=RPNHead(C, len(rc["anchorRatios"])),
            box_roi_pool=pool, box_head=TwoMLPHead(C * P * P, hc["fcDim"]), box_predictor=FastRCNNPredictor(hc["fcDim"], K + 1),
            rpn_pre_nms_top_n_train=rc["preNmsTopkTrain"], rpn_post_nms_top_n_train=rc["postNmsTopkTrain"],
            rpn_pre_nms_top_n_test=rc["preNmsTopkTest"], rpn_post_nms_top_n_test=rc["postNmsTopkTest"],
            rpn_nms_thresh=rc["nmsThresh"], rpn_fg_iou_thresh=rc["iouThresholds"][1], rpn_bg_iou_thresh=rc["iouThresholds"][0],
            rpn_batch_size_per_image=rc["batchSizePerImage"], rpn_positive_fraction=rc["positiveFraction"],
            box_score_thresh=hc["scoreThreshTest"], box_nms_thresh=hc["nmsThreshTest"],
            box_detections_per_img=c["test"]["detectionsPerImage"], box_fg_iou_thresh=hc["iouThreshold"],
            box_bg_iou_thresh=hc["iouThreshold"], box_batch_size_per_image=hc["batchSizePerImage"],
            box_positive_fraction=hc["positiveFraction"], bbox_reg_weights=hc["bboxRegWeights"],
        )
        model.rpn.__class__ = ConfiguredRpn
        model.rpn.beta = rc["smoothL1Beta"]
        if rc["lossWeight"] != 1:
            raise SystemExit("rpn.lossWeight != 1: torchvision's Faster R-CNN has no RPN loss weight")
        tv_roi_heads.fastrcnn_loss = configured_fastrcnn_loss(hc["smoothL1Beta"])
        # detectron2's ROIAlignV2 (ours) samples with the half-pixel offset; torchvision's poolers pass
        # aligned=False to roi_align and have no option for it.
        tv_poolers.roi_align = functools.partial(torchvision.ops.roi_align, aligned=True)
    model.transform = transform
    weights, _ = read_safetensors(spec["weights"])
    result = model.load_state_dict(weights, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{spec['weights']}: missing {missing}, unexpected {result.unexpected_keys}")
    return model


def param_groups(model, c):
    """detectron2's: weight decay on weights and biases, weightDecayNorm on norm γ / β."""
    norm_ids = set()
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, CycleBatchNorm2d, nn.GroupNorm)):
            norm_ids.update(id(p) for p in m.parameters(recurse=False))
    params = [p for p in model.parameters() if p.requires_grad]
    o = c["optim"]
    return [
        {"params": [p for p in params if id(p) not in norm_ids], "weight_decay": o["weightDecay"]},
        {"params": [p for p in params if id(p) in norm_ids], "weight_decay": o["weightDecayNorm"]},
    ]


# ------------------------------------------------------------------------------------------- data


def load_split(spec, split):
    folder = spec["coco"]
    with open(os.path.join(folder, f"{split}.json")) as f:
        coco = json.load(f)
    cat_index = {cid: k for k, cid in enumerate(spec["categories"])}
    by_image = {im["id"]: ([], []) for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        if a.get("iscrowd") or w <= 0 or h <= 0:
            continue
        by_image[a["image_id"]][0].append([x, y, x + w, y + h])
        by_image[a["image_id"]][1].append(cat_index[a["category_id"]])
    samples = []
    for im in coco["images"]:
        pixels = np.asarray(Image.open(os.path.join(folder, im["file_name"])).convert("RGB"))
        image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255  # [3, H, W]
        boxes, labels = by_image[im["id"]]
        sh, sw = image.shape[1:]
        scale = torch.tensor([sw / im["width"], sh / im["height"]] * 2)
        samples.append({
            "id": im["id"], "image": image, "original": (im["height"], im["width"]),
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4) * scale,
            "labels": torch.tensor(labels, dtype=torch.int64),
        })
    return samples


def resized_shape(h, w, short, max_size):
    """src-main/engine/detection/inputs.ts resizedShape (detectron2's ResizeShortestEdge)."""
    scale = short / min(h, w)
    nh, nw = h * scale, w * scale
    if max(nh, nw) > max_size:
        s = max_size / max(nh, nw)
        nh, nw = nh * s, nw * s
    return int(math.floor(nh + 0.5)), int(math.floor(nw + 0.5))


def make_batch(samples, short, max_size, flips, mean, std):
    """Our makeInputBatch / transformBoxes: bilinear resize with half-pixel centres, mirror, normalise."""
    images, targets = [], []
    for s, flip in zip(samples, flips):
        x = s["image"]
        h, w = x.shape[1:]
        nh, nw = resized_shape(h, w, short, max_size)
        if (nh, nw) != (h, w):
            x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False)[0]
        b = s["boxes"] * torch.tensor([nw / w, nh / h] * 2)
        if flip:
            x = x.flip(-1)
            b = torch.stack([nw - b[:, 2], b[:, 1], nw - b[:, 0], b[:, 3]], dim=1)
        images.append((x - mean) / std)
        targets.append({"boxes": b, "labels": s["labels"] + (0 if LABEL_OFFSET is None else LABEL_OFFSET)})
    return images, targets


LABEL_OFFSET = None  # 0 for RetinaNet (classes 0..K−1), 1 for Faster R-CNN (0 is background)


# ---------------------------------------------------------------------------------------- running


def train(spec, model, log_every):
    c = spec["config"]
    o, d = c["optim"], c["data"]
    samples = load_split(spec, "train")
    mean = torch.tensor(spec["imageMean"]).view(3, 1, 1)
    std = torch.tensor(spec["imageStd"]).view(3, 1, 1)
    gen = torch.Generator().manual_seed(c["seed"])
    opt = torch.optim.SGD(param_groups(model, c), lr=spec["lrs"][0], momentum=o["momentum"])
    batch = min(o["batchSize"], len(samples))
    order, cursor = [], len(samples)
    lo, hi = d["minSizeTrain"]
    model.train()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    history = []
    for step, lr in enumerate(spec["lrs"]):
        if cursor + batch > len(order):
            order, cursor = torch.randperm(len(samples), generator=gen).tolist(), 0
        chosen = [samples[i] for i in order[cursor : cursor + batch]]
        cursor += batch
        short = lo + int(torch.randint(hi - lo + 1, (1,), generator=gen))
        flips = [bool(d["hflip"]) and float(torch.rand(1, generator=gen)) < 0.5 for _ in chosen]
        images, targets = make_batch(chosen, short, d["maxSizeTrain"], flips, mean, std)
        for g in opt.param_groups:
            g["lr"] = lr
        losses = model(images, targets)
        total = sum(losses.values())
        if not math.isfinite(float(total)):
            raise SystemExit(f"step {step + 1}: loss {float(total)}")
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        history.append({k: float(v) for k, v in losses.items()})
        if (step + 1) % log_every == 0 or step + 1 == len(spec["lrs"]):
            recent = history[-log_every:]
            emit(event="step", step=step + 1, total=len(spec["lrs"]), lr=lr,
                 losses={k: sum(h[k] for h in recent) / len(recent) for k in recent[0]},
                 cpu_s=time.process_time() - cpu0, wall_s=time.perf_counter() - wall0)
    return history, time.process_time() - cpu0, time.perf_counter() - wall0


@torch.no_grad()
def detect(spec, model):
    c = spec["config"]
    d = c["data"]
    samples = load_split(spec, "val")
    mean = torch.tensor(spec["imageMean"]).view(3, 1, 1)
    std = torch.tensor(spec["imageStd"]).view(3, 1, 1)
    model.eval()
    results = []
    offset = LABEL_OFFSET
    for i in range(0, len(samples), 4):
        chunk = samples[i : i + 4]
        images, _ = make_batch(chunk, d["minSizeTest"], d["maxSizeTest"], [False] * len(chunk), mean, std)
        for s, x, out in zip(chunk, images, model(images)):
            sy, sx = s["original"][0] / x.shape[1], s["original"][1] / x.shape[2]
            for (x1, y1, x2, y2), score, label in zip(out["boxes"].tolist(), out["scores"].tolist(), out["labels"].tolist()):
                x1, x2, y1, y2 = x1 * sx, x2 * sx, y1 * sy, y2 * sy
                results.append({"image_id": s["id"], "category_id": spec["categories"][label - offset],
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    return results


def check(spec, model, batch_path):
    """One training-mode forward on our batch: images [N, 3, H, W] padded as ours, `sizes` [N, 2],
    `boxes{n}` [m, 4] and `classes{n}` [m] in batch coordinates. Images are cropped to their sizes:
    torchvision's transform pads them back to the same multiple of 32 and records the true sizes."""
    t, _ = read_safetensors(batch_path)
    images, targets = [], []
    for n, (h, w) in enumerate(t["sizes"].long().tolist()):
        images.append(t["images"][n, :, :h, :w])
        targets.append({"boxes": t[f"boxes{n}"].float(), "labels": t[f"classes{n}"].long() + LABEL_OFFSET})
    model.train()
    LAST.clear()
    losses = model(images, targets)
    emit(event="check", losses={k: float(v) for k, v in losses.items()}, raw=dict(LAST))


def main():
    global LABEL_OFFSET
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(spec.get("threads", 1))
    torch.manual_seed(spec["config"]["seed"])
    LABEL_OFFSET = 0 if spec["config"]["detector"] == "retinanet" else 1
    model = build_model(spec)
    if "--check" in sys.argv:
        check(spec, model, sys.argv[sys.argv.index("--check") + 1])
        return
    if "--detect-only" in sys.argv:
        results = detect(spec, model)
        with open(spec["detections"], "w") as f:
            json.dump(results, f)
        emit(event="done", steps=0, detections=len(results))
        return
    history, cpu_s, wall_s = train(spec, model, spec.get("logEvery", 50))
    t0 = time.perf_counter()
    results = detect(spec, model)
    with open(spec["detections"], "w") as f:
        json.dump(results, f)
    emit(event="done", steps=len(history), detections=len(results), train_cpu_s=cpu_s, train_wall_s=wall_s,
         eval_wall_s=time.perf_counter() - t0, torch=torch.__version__, torchvision=torchvision.__version__,
         threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
