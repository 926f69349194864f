"""CIFAR-10 for the PyTorch reference, read and split the way golab's lab does.

- The binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin):
  records of one label byte and 3,072 channel-major pixel bytes, as
  lab/cifar.go reads them. Unlike the lab, a file may hold fewer than 10,000
  records, so tests can use small folders.
- Normalization as lab.Dataset.Batch computes it, in float32:
  x = v * (1 / (255 * std)) + (-mean / std), with lab.CIFARMean/CIFARStd.
- The seeded split and the per-epoch shuffles use Go's math/rand/v2 PCG and
  Rand.Perm, re-implemented here bit for bit, so Split(1000, seed) holds out
  the same 1,000 images as the lab and every epoch visits the training images
  in the same order.

Only torch is needed (no numpy, no torchvision).
"""
import os

import torch

IMAGE_BYTES = 3 * 32 * 32
RECORD_BYTES = 1 + IMAGE_BYTES
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
CLASSES = 10

# lab.CIFARMean and lab.CIFARStd (lab/stats.go).
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def read_records(path, limit=None):
    """Reads one binary batch file: (pixels uint8 N×3×32×32, labels int64 N)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) == 0 or len(raw) % RECORD_BYTES:
        raise ValueError(f"{path} is {len(raw)} bytes, not a whole number of {RECORD_BYTES}-byte CIFAR-10 records "
                         "(1 label byte and 3,072 pixel bytes each): it is truncated or not a CIFAR-10 batch file")
    rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, RECORD_BYTES)
    if limit is not None:
        rec = rec[:limit]
    labels = rec[:, 0].long()
    bad = (labels >= CLASSES).nonzero()
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"{path} is corrupt: record {i} has label {int(labels[i])}, but there are {CLASSES} classes")
    return rec[:, 1:].reshape(-1, 3, 32, 32).clone(), labels


def read_batches(data_dir, names):
    """Reads and concatenates batch files in order, as lab.LoadCIFAR does."""
    missing = [n for n in names if not os.path.exists(os.path.join(data_dir, n))]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 is not in {data_dir} (missing {', '.join(missing)}); "
                                "pass --data DIR with the binary batches, or set CIFAR10_DIR")
    parts = [read_records(os.path.join(data_dir, n)) for n in names]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def default_dir():
    """$CIFAR10_DIR, else lab.CIFARDir's cache folder."""
    d = os.environ.get("CIFAR10_DIR")
    if d:
        return d
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "golab", "cifar-10-batches-bin")


class Normalizer:
    """lab.Dataset.Normalize(CIFARMean, CIFARStd) applied to uint8 batches."""

    def __init__(self, mean=MEAN, std=STD):
        m = torch.tensor(mean, dtype=torch.float32)
        s = torch.tensor(std, dtype=torch.float32)
        self.scale = (1 / (255 * s)).view(1, 3, 1, 1)
        self.shift = (-m / s).view(1, 3, 1, 1)

    def __call__(self, pixels):
        return pixels.float() * self.scale + self.shift


# ---- Go's math/rand/v2 PCG and Rand.Perm ------------------------------------

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_MUL = (2549297995355413924 << 64) | 4865540595714422341
_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5


class GoPCG:
    """rand.New(rand.NewPCG(seed1, seed2)) of Go's math/rand/v2: a 128-bit LCG
    with the DXSM output function, and the Rand methods the lab uses."""

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & _M64) << 64) | (seed2 & _M64)

    def uint64(self):
        self.state = (self.state * _MUL + _INC) & _M128
        hi, lo = self.state >> 64, self.state & _M64
        hi ^= hi >> 32
        hi = (hi * _CHEAP_MUL) & _M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & _M64

    def uint64n(self, n):
        """Rand.uint64n on a 64-bit machine: Lemire's multiply-and-reject."""
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        prod = self.uint64() * n
        if prod & _M64 < n:
            thresh = ((1 << 64) - n) % n
            while prod & _M64 < thresh:
                prod = self.uint64() * n
        return prod >> 64

    def perm(self, n):
        """Rand.Perm(n): the Fisher-Yates shuffle of 0..n-1 that Go makes."""
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.uint64n(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def split(n, val_size, seed):
    """lab.Dataset.Split(val_size, seed) on a set of n images: the positions
    of the training and the validation images."""
    if not 0 < val_size < n:
        raise ValueError(f"validation size {val_size} must be between 1 and {n - 1} (the set has {n} images)")
    perm = GoPCG(seed, 0x5EED).perm(n)
    return perm[val_size:], perm[:val_size]


def epoch_order(n, seed, epoch):
    """The order in which lab.Train visits the n training images in an epoch."""
    return GoPCG(seed, epoch).perm(n)
