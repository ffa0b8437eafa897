"""Reads the safetensors files our exporter writes (src-main/engine/export/safetensors.ts) without
the safetensors package (Debian has none): u64 LE header length, JSON header, raw little-endian
data. Shared by the torchvision checks (test/engine/export/load_in_torchvision.py) and the
detection reference (bench/torch_detection_reference.py)."""
import json
import struct

import torch

DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """(name -> tensor, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        if end > begin:
            flat = torch.frombuffer(bytearray(data[base + begin : base + end]), dtype=dtype)
        else:
            flat = torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, metadata
