"""State dicts written by PyTorch's own torch.save, for torch-file.test.ts.

`fixture OUT_DIR` writes the small frozen fixtures (tiny-conv-bn.pth, zip format, and
tiny-conv-bn-legacy.pth, torch < 1.6's format): values the test recomputes without Python, with a
transposed view, storage offsets, a storage shared by two tensors, float16, bfloat16, float64 and
int64. `checkpoint OUT_DIR` writes tiny-checkpoint-legacy.pth: a training checkpoint in the legacy
format whose optimizer state holds storages no state-dict tensor uses. `resnet OUT_DIR WIDTH SEED` writes torchvision's resnet18 at that base width (zip, legacy, a
pickled module, one with a wrong-shaped tensor) and prints each tensor's shape and sha256 as JSON;
also torchvision's mobilenet_v2 at width_mult 0.25.
"""
import collections
import hashlib
import json
import sys

import torch
import torch.nn as nn
from torchvision.models import mobilenet_v2
from torchvision.models.resnet import BasicBlock, ResNet


def fixture(out):
    base = torch.arange(8, dtype=torch.float32) / 4
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.arange(54, dtype=torch.float32).reshape(2, 3, 3, 3) / 8
    sd["proj.weight"] = (torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2).t()  # stride (1, 3)
    sd["bn.weight"] = torch.tensor([1.5, -2.25], dtype=torch.float16)
    sd["bn.bias"] = torch.tensor([0.5, -0.125], dtype=torch.bfloat16)
    sd["bn.running_mean"] = base[2:4]  # offset 2 into a shared storage
    sd["bn.running_var"] = base[5:7]  # offset 5 into the same storage
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["scale"] = torch.tensor([0.1], dtype=torch.float64)
    torch.save(sd, f"{out}/tiny-conv-bn.pth")
    torch.save(sd, f"{out}/tiny-conv-bn-legacy.pth", _use_new_zipfile_serialization=False)


def checkpoint(out):
    """{"state_dict", "optimizer" (SGD momentum buffers: storages of their own), "epoch"}, legacy format."""
    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.5, -1.5]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.25, 2.0]))
    opt = torch.optim.SGD(conv.parameters(), lr=0.1, momentum=0.9)
    conv(torch.ones(1, 1, 1, 1)).sum().backward()
    opt.step()
    ck = {"state_dict": conv.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    torch.save(ck, f"{out}/tiny-checkpoint-legacy.pth", _use_new_zipfile_serialization=False)


class WidthResNet(ResNet):
    """torchvision's ResNet at another base width (its constructors build 64)."""

    def __init__(self, block, layers, width):
        super().__init__(block, layers)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.fc = nn.Linear(width * 8 * block.expansion, 1000)


def resnet(out, width, seed):
    torch.manual_seed(seed)
    model = WidthResNet(BasicBlock, [2, 2, 2, 2], width)
    with torch.no_grad():  # BN statistics and affine that are not the init's 0 / 1
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(3)
    sd = model.state_dict()
    torch.save(sd, f"{out}/resnet18.pth")
    torch.save(sd, f"{out}/resnet18-legacy.pt", _use_new_zipfile_serialization=False)
    torch.save({"state_dict": sd, "epoch": 90}, f"{out}/checkpoint.pth")
    torch.save(model, f"{out}/module.pth")
    wrong = collections.OrderedDict(sd)
    wrong["layer2.0.conv1.weight"] = torch.zeros(2 * width, width, 1, 1)
    torch.save(wrong, f"{out}/wrong-shape.pth")
    torch.save(mobilenet_v2(width_mult=0.25).state_dict(), f"{out}/mobilenet_v2.pth")  # stem width 8
    summary = {
        k: {"shape": list(v.shape), "sha256": hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest()}
        for k, v in sd.items()
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    if sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif sys.argv[1] == "checkpoint":
        checkpoint(sys.argv[2])
    else:
        resnet(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
