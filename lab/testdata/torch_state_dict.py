"""Writes the state_dict files that lab's TestLoadsPyTorchStateDicts loads:
a small network with BatchNorm, saved by the official safetensors library
(safetensors.torch.save_file) in float32, float16, bfloat16 and float64,
BatchNorm's int64 num_batches_tracked included, with PyTorch's evaluation
logits of a fixed input in the metadata.

    python3 -m venv --system-site-packages /tmp/st && /tmp/st/bin/pip install safetensors
    /tmp/st/bin/python lab/testdata/torch_state_dict.py lab/testdata

The golab network of the same shape is torchNet in lab/checkpoint_test.go.
"""

import json
import sys

import torch
from torch import nn
from safetensors.torch import save_file


def fixed_input():
    """2 images whose values the Go test computes the same way."""
    i = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64)
    return (((i * 37) % 101).float() / 50 - 1).reshape(2, 3, 32, 32)


def main(out):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(3),
                        nn.Flatten(), nn.Linear(4 * 5 * 5, 10))
    net.train()
    for _ in range(3):  # move BatchNorm's statistics; num_batches_tracked becomes 3
        net(torch.randn(8, 3, 32, 32))
    net.eval()
    sd = net.state_dict()
    for name, dtype in [("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16), ("f64", torch.float64)]:
        conv = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()}
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in conv.items()})
        with torch.no_grad():
            logits = net(fixed_input())
        save_file(conv, f"{out}/torch_{name}.safetensors", metadata={"logits": json.dumps(logits.tolist())})
        net.load_state_dict(sd)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
