"""Load a Mask R-CNN's exports into torchvision models built at the same width, with exact key lists.

usage: load_mask_rcnn_in_torchvision.py SPEC.json BACKBONE.safetensors IO.safetensors

SPEC: {"config": the resolved fine-tune config, "categories": [ids], "weights": the detector export}
(the fields bench/torch_detection_reference.py's build_model reads; it builds torchvision's MaskRCNN
with the FPN, RPN, box and mask heads at our widths). BACKBONE: the detector's backbone alone
(backboneToTorchTensors), loaded into bench/torch_reference.py's ResNet (torchvision's names, any
width). IO: `input` [1, 3, H, W] and our inference features `res2`..`res5` (NCHW).

Prints one JSON line: each load's missing and unexpected keys (load_state_dict(strict=False), so
the caller states which are expected), the largest feature difference of each loaded body against
ours, and what the detector's eval forward returned.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench"))
from safetensors_io import read_safetensors  # noqa: E402
from torch_detection_reference import build_model  # noqa: E402
from torch_reference import ResNet  # noqa: E402

FEATURES = ["res2", "res3", "res4", "res5"]


def body_features(body, x):
    """res2..res5 of a torch_reference ResNet (the detector's body is one too)."""
    h = torch.nn.functional.max_pool2d(torch.relu(body.bn1(body.conv1(x))), 3, 2, 1)
    out = {}
    for i, name in enumerate(FEATURES):
        h = getattr(body, f"layer{i + 1}")(h)
        out[name] = h
    return out


def max_diffs(feats, io):
    return {k: float((feats[k] - io[k]).abs().max()) for k in FEATURES}


def main(spec_path, backbone_path, io_path):
    torch.set_num_threads(1)  # the machine's cores are shared with other test processes
    with open(spec_path) as f:
        spec = json.load(f)
    io, _ = read_safetensors(io_path)
    detector_weights, _ = read_safetensors(spec["weights"])
    model = build_model(spec)  # refuses missing or unexpected keys (but BN counters) itself
    detector = model.load_state_dict(detector_weights, strict=False)
    model.eval()

    bb = spec["config"]["backbone"]
    backbone_weights, metadata = read_safetensors(backbone_path)
    resnet = ResNet(bb["name"], bb["baseWidth"])
    backbone = resnet.load_state_dict(backbone_weights, strict=False)
    resnet.eval()

    with torch.no_grad():
        x = io["input"]
        out = model([x[0]])[0]
        report = {
            "detector": {
                "class": type(model).__name__,
                "missing": sorted(detector.missing_keys),
                "unexpected": sorted(detector.unexpected_keys),
                "keys": len(model.state_dict()),
                "maxAbsDiff": max_diffs(body_features(model.backbone.body, x), io),
                "outputs": {k: list(v.shape) for k, v in out.items()},
            },
            "backbone": {
                "arch": metadata.get("arch"),
                "missing": sorted(backbone.missing_keys),
                "unexpected": sorted(backbone.unexpected_keys),
                "maxAbsDiff": max_diffs(body_features(resnet, x), io),
            },
            "maxAbs": {k: float(io[k].abs().max()) for k in FEATURES},
        }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
