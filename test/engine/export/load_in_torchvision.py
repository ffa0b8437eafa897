"""Load our safetensors exports into torchvision and compare its features with ours.

usage: load_in_torchvision.py [--outputs] WEIGHTS.safetensors IO.safetensors [WEIGHTS IO ...]

WEIGHTS: a backbone written by backboneToTorchTensors (metadata: arch, baseWidth).
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
# 1e-3 absolute, or 1e-4 relative for features larger than 10 (float32 round-off grows with depth)
ABS_TOLERANCE = 1e-3
REL_TOLERANCE = 1e-4


def check(weights_path, io_path, outputs=False):
    weights, metadata = read_safetensors(weights_path)
    arch = metadata["arch"]
    if metadata.get("baseWidth") != "64":
        raise SystemExit(f"{weights_path}: torchvision's {arch} has baseWidth 64, file has {metadata.get('baseWidth')}")
    model = getattr(torchvision.models, arch)()
    result = model.load_state_dict(weights, strict=False)
    model.eval()
    io, _ = read_safetensors(io_path)
    with torch.no_grad():
        h = model.maxpool(model.relu(model.bn1(model.conv1(io["input"]))))
        feats = {}
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
        "bn1NumBatchesTracked": int(model.bn1.num_batches_tracked),
    }
    ok = (
        report["missing"] == ["fc.bias", "fc.weight"]
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
