"""detectron2's Mask R-CNN mask targets and paste-back, computed with PyTorch, for mask-rcnn-torch.test.ts.

`python3 mask_reference.py SEED` prints JSON cases:
- targets: a random blob mask, a random float box and M; the target is BitMasks.crop_and_resize's
  rule: RoIAlign (aligned=True, sampling_ratio=0, spatial scale 1) of the mask to M x M, >= 0.5.
- paste: random M x M probabilities, a random float box and an image size; the pasted mask is
  paste_masks_in_image's rule: grid_sample (align_corners=False, zeros outside) of the probabilities
  at each pixel centre of the box's window, >= 0.5.
Masks are given as flat 0/1 lists, row-major.
"""
import json
import sys

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align


def random_box(g, h, w, min_side=2.0):
    x0 = float(torch.rand(1, generator=g)) * (w - min_side)
    y0 = float(torch.rand(1, generator=g)) * (h - min_side)
    x1 = x0 + min_side + float(torch.rand(1, generator=g)) * (w - x0 - min_side)
    y1 = y0 + min_side + float(torch.rand(1, generator=g)) * (h - y0 - min_side)
    return [x0, y0, x1, y1]


def target_case(g):
    h, w = int(torch.randint(8, 48, (1,), generator=g)), int(torch.randint(8, 48, (1,), generator=g))
    m = int(torch.randint(2, 29, (1,), generator=g))
    # a blob: a smoothed random field, thresholded
    field = torch.rand(1, 1, h // 4 + 2, w // 4 + 2, generator=g)
    mask = (F.interpolate(field, size=(h, w), mode="bilinear", align_corners=False)[0, 0] > 0.5).float()
    # boxes may reach a little past the image, as proposals do
    box = random_box(g, h + 4, w + 4)
    box = [box[0] - 2, box[1] - 2, box[2] - 2, box[3] - 2]
    rois = torch.tensor([[0.0, *box]])
    target = roi_align(mask[None, None], rois, output_size=(m, m), spatial_scale=1.0, sampling_ratio=0, aligned=True)
    return {
        "height": h,
        "width": w,
        "mask": mask.flatten().int().tolist(),
        "box": box,
        "M": m,
        "target": (target[0, 0] >= 0.5).flatten().int().tolist(),
    }


def paste_case(g):
    h, w = int(torch.randint(8, 64, (1,), generator=g)), int(torch.randint(8, 64, (1,), generator=g))
    m = int(torch.randint(2, 29, (1,), generator=g))
    probs = torch.rand(m, m, generator=g)
    box = random_box(g, h, w, 1.0)
    b = torch.tensor([box])
    x0i = max(int(torch.floor(b[0, 0])) - 1, 0)
    y0i = max(int(torch.floor(b[0, 1])) - 1, 0)
    x1i = min(int(torch.ceil(b[0, 2])) + 1, w)
    y1i = min(int(torch.ceil(b[0, 3])) + 1, h)
    ys = (torch.arange(y0i, y1i, dtype=torch.float32) + 0.5 - b[0, 1]) / (b[0, 3] - b[0, 1]) * 2 - 1
    xs = (torch.arange(x0i, x1i, dtype=torch.float32) + 0.5 - b[0, 0]) / (b[0, 2] - b[0, 0]) * 2 - 1
    grid = torch.stack([xs[None, :].expand(len(ys), len(xs)), ys[:, None].expand(len(ys), len(xs))], dim=2)
    window = F.grid_sample(probs[None, None], grid[None], align_corners=False)[0, 0]
    pasted = torch.zeros(h, w, dtype=torch.int32)
    pasted[y0i:y1i, x0i:x1i] = (window >= 0.5).int()
    return {
        "height": h,
        "width": w,
        "probs": probs.flatten().tolist(),
        "box": box,
        "M": m,
        "pasted": pasted.flatten().tolist(),
    }


if __name__ == "__main__":
    g = torch.Generator().manual_seed(int(sys.argv[1]))
    print(json.dumps({"targets": [target_case(g) for _ in range(150)], "paste": [paste_case(g) for _ in range(150)]}))
