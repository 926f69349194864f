"""Writes, with the official safetensors library, the files that golab's
interop test (lab/models/interop_test.go) loads, and prints one JSON line per
file.

  st_export.py --torchref bench/torchref --out DIR --images FILE

For each model of bench/torchref (cnn, dropout, improved), with BatchNorm
running statistics and num_batches_tracked moved off their initial values:
- MODEL-F32.safetensors: safetensors.torch.save_file(model.state_dict(), path),
  exactly as a PyTorch user saves; ImprovedCNN's holds int64
  num_batches_tracked tensors;
- MODEL-F16, -BF16, -F64: the same state_dict with its floating tensors in
  that dtype (the counters stay int64).
Each line has the logits that PyTorch computes on the images from the
file's values read back as float32, which is what golab should compute.

Files golab must refuse or convert, never report as missing:
- cnn-I32: conv1.weight as int32 ("unsupported" names the tensor);
- cnn-F8_E4M3: out.bias as F8_E4M3, every byte 0x38, which is 1.0 (the
  header is rewritten after save_file, as this torch may lack float8).
"""
import argparse
import json
import os
import struct
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--torchref", required=True, help="the folder of torchref.py")
ap.add_argument("--out", required=True)
ap.add_argument("--images", required=True)
a = ap.parse_args()
sys.path.insert(0, a.torchref)

import torch  # noqa: E402
import safetensors.torch as st  # noqa: E402

import cifar  # noqa: E402
import models  # noqa: E402

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith(("running_mean", "running_var")):
                t.copy_(0.2 + torch.rand(t.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                t.fill_(1000 + seed)
            elif name.endswith("weight") and t.dim() > 1:
                t.mul_(2)  # logits of order 1, so that 1e-4 is a strict bound


def logits(name, state):
    m = models.build(name)
    m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    m.eval()
    with torch.no_grad():
        return m(norm(pixels)).tolist()


pixels, _ = cifar.read_records(a.images)
norm = cifar.Normalizer()
print(json.dumps({"torch": torch.__version__, "safetensors": __import__("safetensors").__version__}))
for i, name in enumerate(models.NAMES):
    torch.manual_seed(20 + i)
    model = models.build(name)
    perturb(model, i)
    for dt, dtype in DTYPES.items():
        path = os.path.join(a.out, f"{name}-{dt}.safetensors")
        if dtype == torch.float32:
            st.save_file(model.state_dict(), path)
        else:
            st.save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
        back = st.load_file(path)
        assert all(v.dtype in (dtype, torch.int64) for v in back.values())
        print(json.dumps({"model": name, "dtype": dt, "file": path, "logits": logits(name, back)}), flush=True)

sd = models.build("cnn").state_dict()
bad = dict(sd, **{"conv1.weight": (sd["conv1.weight"] * 100).to(torch.int32)})
path = os.path.join(a.out, "cnn-I32.safetensors")
st.save_file(bad, path)
print(json.dumps({"model": "cnn", "dtype": "I32", "file": path, "unsupported": "conv1.weight"}))

# F8_E4M3: save out.bias as uint8, then relabel it in the header.
bad = dict(sd, **{"out.bias": torch.full(sd["out.bias"].shape, 0x38, dtype=torch.uint8)})
path = os.path.join(a.out, "cnn-F8_E4M3.safetensors")
st.save_file(bad, path)
with open(path, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
header["out.bias"]["dtype"] = "F8_E4M3"
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + raw[8 + n:])
print(json.dumps({"model": "cnn", "dtype": "F8_E4M3", "file": path, "unsupported": "out.bias", "value": 1.0}))
