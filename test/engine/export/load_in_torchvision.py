"""Load our safetensors exports into torchvision and compare its features with ours.

usage: load_in_torchvision.py [--outputs] WEIGHTS.safetensors IO.safetensors [WEIGHTS IO ...]

WEIGHTS: a backbone written by backboneToTorchTensors (metadata: arch, baseWidth): a ResNet at
baseWidth 64, or mobilenet_v2 at any width (torchvision's width_mult = baseWidth / 32).
IO: `input` [N, 3, H, W] and our inference features `res2`..`res5`, all NCHW.

The safetensors files are parsed by bench/safetensors_io.py (no safetensors package needed). Prints one JSON line per pair, then exits 1 if any check failed.
With --outputs each line also carries torchvision's state_dict shapes and its features (flattened),
which the test freezes as its fixture (test/engine/export/fixtures/torchvision-reference.json).
"""
import json
import os
import sys

import torch
import torchvision

# the one safetensors reader, shared with the detection reference
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench"))
from safetensors_io import read_safetensors  # noqa: E402

FEATURES = ["res2", "res3", "res4", "res5"]
# mobilenet_v2: which `features` outputs our res2..res5 are (src-main/engine/models/mobilenet-v2.ts)
MOBILENET_V2_FEATURE_LAYERS = {"res2": 3, "res3": 6, "res4": 13, "res5": 18}
# 1e-3 absolute, or 1e-4 relative for features larger than 10 (float32 round-off grows with depth)
ABS_TOLERANCE = 1e-3
REL_TOLERANCE = 1e-4


def check(weights_path, io_path, outputs=False):
    weights, metadata = read_safetensors(weights_path)
    arch = metadata["arch"]
    io, _ = read_safetensors(io_path)
    if arch == "mobilenet_v2":
        # baseWidth is the stem's channels: 32 = width multiplier 1.0
        model = torchvision.models.mobilenet_v2(width_mult=int(metadata["baseWidth"]) / 32)
        head, bn1 = ["classifier.1.bias", "classifier.1.weight"], model.features[0][1]
    else:
        if metadata.get("baseWidth") != "64":
            raise SystemExit(f"{weights_path}: torchvision's {arch} has baseWidth 64, file has {metadata.get('baseWidth')}")
        model = getattr(torchvision.models, arch)()
        head, bn1 = ["fc.bias", "fc.weight"], model.bn1
    result = model.load_state_dict(weights, strict=False)
    model.eval()
    with torch.no_grad():
        feats = {}
        if arch == "mobilenet_v2":
            h = io["input"]
            at = {i: name for name, i in MOBILENET_V2_FEATURE_LAYERS.items()}
            for i, layer in enumerate(model.features):
                h = layer(h)
                if i in at:
                    feats[at[i]] = h
        else:
            h = model.maxpool(model.relu(model.bn1(model.conv1(io["input"]))))
            for i, name in enumerate(FEATURES):
                h = getattr(model, f"layer{i + 1}")(h)
                feats[name] = h
    report = {
        "arch": arch,
        "missing": sorted(result.missing_keys),
        "unexpected": sorted(result.unexpected_keys),
        "shapes": {k: list(feats[k].shape) for k in FEATURES},
        "maxAbsDiff": {k: float((feats[k] - io[k]).abs().max()) for k in FEATURES},
        "maxAbs": {k: float(io[k].abs().max()) for k in FEATURES},
        "bn1NumBatchesTracked": int(bn1.num_batches_tracked),
        "parameters": sum(p.numel() for name, p in model.named_parameters() if name not in head),
    }
    ok = (
        report["missing"] == head
        and report["unexpected"] == []
        and all(feats[k].shape == io[k].shape for k in FEATURES)
        and all(report["maxAbsDiff"][k] < max(ABS_TOLERANCE, REL_TOLERANCE * report["maxAbs"][k]) for k in FEATURES)
    )
    report["ok"] = ok
    if outputs:
        report["stateDict"] = {k: list(v.shape) for k, v in model.state_dict().items()}
        report["features"] = {k: feats[k].flatten().tolist() for k in FEATURES}
        report["versions"] = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    print(json.dumps(report), flush=True)
    return ok


def main(argv):
    torch.set_num_threads(1)  # the machine's cores are shared with other test processes
    outputs = bool(argv) and argv[0] == "--outputs"
    if outputs:
        argv = argv[1:]
    if len(argv) < 2 or len(argv) % 2:
        raise SystemExit(__doc__)
    results = [check(argv[i], argv[i + 1], outputs) for i in range(0, len(argv), 2)]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
