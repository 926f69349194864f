"""Safetensors files for the PyTorch reference.

The official library (safetensors.torch.load_file / save_file) is used when
it is installed; `make test` provides it (bench/torchref/README.md). Without
it, as with Debian's python3-torch alone, a minimal reader and writer of the
format (an 8-byte little-endian header length, a JSON header, the raw
little-endian data) stands in, so that the parity tests still run. The
safetensors interop tests always use the official library.
"""
import ctypes
import json
import struct
import sys

import torch

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def official():
    """The safetensors.torch module, or None when it is not installed."""
    try:
        import safetensors.torch as st
        return st
    except ImportError:
        return None


def _lib(use):
    """The library to use: use is "official", "own" or "auto"."""
    if use == "own":
        return None
    st = official()
    if st is None and use == "official":
        raise SystemExit(f"the safetensors package is not installed in {sys.executable}: "
                         "pip install safetensors (make test's TORCH_PYTHON has it), or use --loader own")
    return st


def dtype_name(dtype):
    """The safetensors name of a torch dtype, e.g. F32."""
    return _NAMES.get(dtype, str(dtype))


def uses_official(use):
    """Whether load and save use the official library."""
    return _lib(use) is not None


def load(path, use="auto"):
    """Returns (tensors by name, metadata dict) of a safetensors file."""
    st = _lib(use)
    if st is not None:
        from safetensors import safe_open
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
        return st.load_file(path), meta
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path} is not a safetensors file: shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path} is not a safetensors file: its header claims {n} bytes, the file has {len(raw)}")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, e in header.items():
        if e["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {e['dtype']}, which this reader does not know")
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=_DTYPES[e["dtype"]]) if hi > lo else \
            torch.empty(0, dtype=_DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"])
    return out, meta


def save(path, tensors, metadata=None, use="auto"):
    """Writes tensors (a name → tensor dict, e.g. a state_dict) to path."""
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    st = _lib(use)
    if st is not None:
        st.save_file(tensors, path, metadata=metadata)
        return
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = _bytes(t)
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _bytes(t):
    """The raw bytes of a contiguous CPU tensor (little-endian machines), read
    from its memory: numpy, which .numpy() needs, may be absent."""
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
