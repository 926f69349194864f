#!/usr/bin/env python3
"""golab's PyTorch reference: the assignment's three models, data, split and
hyperparameters as the lab has them (models.py, cifar.py), for comparing
golab with PyTorch. Run it with any Python that has torch (`$TORCH_PYTHON`;
see README.md beside this file).

  torchref.py train --model cnn --epochs 20 [--data DIR] [--p 0.5] [--seed 0]
      trains with the assignment's settings (SGD lr 0.001 momentum 0.9, batch
      32, cross-entropy, the seeded 49,000 / 1,000 split) and prints the
      seed's log lines; --save-weights F writes a safetensors checkpoint that
      golab's model.Load reads; --logits-of FILE prints the logits after
      training.
  torchref.py bench-train --model cnn --steps 30
      the median time of a training step at batch 32 on synthetic images, as
      one JSON line (make bench).
  torchref.py bench-eval --model cnn --images 2000
      evaluation time, eval mode and no_grad, batches of 500, as one JSON line.
  torchref.py logits --images FILE cnn=W.safetensors [dropout=W2 ...]
      the logits of given weights on the images of a CIFAR-10 binary file,
      one JSON line per weights file (the parity tests).
  torchref.py state-dict cnn dropout improved
      the state_dicts' names, shapes and dtypes as JSON.
  torchref.py split --n 50000 --val 1000 --seed 0 [--epoch 0]
      the split's validation positions and an epoch's order, as JSON.

Nothing here reads ../shared/bench: the project depends on this reference only.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn

import cifar
import models
import stfile


def set_threads(n):
    if n > 0:
        torch.set_num_threads(n)


def impl():
    return "pytorch " + torch.__version__


# ---- weights -----------------------------------------------------------------

def load_weights(model, path, loader="auto"):
    """Loads a safetensors file into model with load_state_dict(strict=True),
    the dict exactly as the file holds it. Only BatchNorm's
    num_batches_tracked may be absent (golab keeps no such counter):
    BatchNorm's own loader supplies it for a dict without version metadata.
    Returns the names of the counters the file lacked, the file's dtypes and
    metadata."""
    sd, meta = stfile.load(path, loader)
    dtypes = sorted({stfile.dtype_name(v.dtype) for v in sd.values()})
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    absent_counters = [k for k in missing if k.endswith("num_batches_tracked")]
    problems = [f"tensor {k!r} (shape {list(own[k].shape)}) is missing" for k in missing if k not in absent_counters]
    problems += [f"tensor {k!r} in the file is not part of {type(model).__name__}" for k in sorted(set(sd) - set(own))]
    problems += [f"tensor {k!r} has shape {list(sd[k].shape)} in the file but {list(own[k].shape)} in the model"
                 for k in sorted(set(sd) & set(own)) if sd[k].shape != own[k].shape]
    if problems:
        raise SystemExit(f"{path} does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(sd, strict=True)
    return absent_counters, dtypes, meta


def save_weights(model, path, loader="auto"):
    """Writes model.state_dict() as safetensors, with golab's metadata keys."""
    meta = {"model": type(model).__name__, "format": "pt", "written_by": "torchref.py " + impl()}
    stfile.save(path, model.state_dict(), meta, loader)


def logits_of(model, pixels, norm):
    model.eval()
    with torch.no_grad():
        return model(norm(pixels))


# ---- training ------------------------------------------------------------------

def accuracy(model, pixels, labels, norm, batch=500):
    """Percent correct and mean loss, eval mode, as lab.Evaluate."""
    model.eval()
    correct, loss = 0, 0.0
    crit = nn.CrossEntropyLoss(reduction="sum")
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            out = model(norm(pixels[i:i + batch]))
            y = labels[i:i + batch]
            loss += float(crit(out, y))
            correct += int((out.argmax(1) == y).sum())
    return 100.0 * correct / len(labels), loss / len(labels)


def train(a):
    set_threads(a.threads)
    torch.manual_seed(a.seed)
    pixels, labels = cifar.read_batches(a.data, cifar.TRAIN_FILES)
    if a.limit:
        pixels, labels = pixels[:a.limit], labels[:a.limit]
    train_pos, val_pos = cifar.split(len(labels), a.val, a.seed)
    train_pos = torch.tensor(train_pos)
    val_x, val_y = pixels[val_pos], labels[val_pos]
    norm = cifar.Normalizer()
    model = models.build(a.model, a.p)
    if a.load_weights:
        absent, _, _ = load_weights(model, a.load_weights, a.loader)
        if absent:
            print(f"{a.load_weights} has no {', '.join(absent)} (golab keeps no such counter); starting them at 0")
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    crit = nn.CrossEntropyLoss()
    n = len(train_pos)
    steps = (n + a.batch - 1) // a.batch
    label = type(model).__name__ + (f" p={a.p:g}" if a.model == "dropout" else "")
    print(f"Training {label}: {a.epochs} epochs of {steps} steps (batch {a.batch}, {n} training and "
          f"{len(val_y)} validation images) on {impl()}, {torch.get_num_threads()} threads", flush=True)
    history, start = [], time.perf_counter()
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        order = train_pos[cifar.epoch_order(n, a.seed, epoch)]
        model.train()
        sum_loss, correct, seen = 0.0, 0, 0
        for step in range(steps):
            idx = order[step * a.batch:(step + 1) * a.batch]
            x, y = norm(pixels[idx]), labels[idx]
            opt.zero_grad()
            out = model(x)
            loss = crit(out, y)
            loss.backward()
            opt.step()
            sum_loss += float(loss) * len(y)
            correct += int((out.argmax(1) == y).sum())
            seen += len(y)
            if step % a.log_every == 0:
                print(f"epoch: {epoch}, steps: {step}, train_loss: {sum_loss / seen:.3f}, "
                      f"running_acc: {100 * correct / seen:.1f} %", flush=True)
        val_acc, val_loss = accuracy(model, val_x, val_y, norm)
        secs = time.perf_counter() - t0
        history.append({"epoch": epoch, "train_loss": sum_loss / seen, "train_acc": 100 * correct / seen,
                        "val_loss": val_loss, "val_acc": val_acc, "seconds": secs, "images_per_s": n / secs})
        print(f"Validation accuracy: {val_acc:.1f} %  (epoch {secs:.1f} s, {n / secs:.0f} images/s)\n", flush=True)
    if history:
        best = max(history, key=lambda e: e["val_acc"])
        print(f"Finished Training: best validation accuracy {best['val_acc']:.1f} % (epoch {best['epoch']}), "
              f"{time.perf_counter() - start:.0f} s")
    if a.test and a.epochs:
        tx, ty = cifar.read_batches(a.data, cifar.TEST_FILES)
        acc, _ = accuracy(model, tx, ty, norm)
        print(f"Test accuracy: {acc:.1f} % ({len(ty)} images)")
    if a.history:
        with open(a.history, "w") as f:
            json.dump({"model": type(model).__name__, "label": label, "impl": impl(), "epochs": history}, f, indent=1)
    if a.save_weights:
        save_weights(model, a.save_weights, a.loader)
    if a.logits_of:
        px, _ = cifar.read_records(a.logits_of)
        print(json.dumps({"model": a.model, "logits": logits_of(model, px, norm).tolist()}))


# ---- timing ----------------------------------------------------------------------

def synthetic(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (n,), generator=g))


def bench_train(a):
    """Median wall time of a training step (forward, backward, SGD update) at
    batch a.batch on synthetic images, after a.warmup untimed steps."""
    set_threads(a.threads)
    torch.manual_seed(0)
    model = models.build(a.model, a.p)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    norm = cifar.Normalizer()
    pixels, labels = synthetic(4096)
    times = []
    for s in range(a.warmup + a.steps):
        i = (s * a.batch) % (len(labels) - a.batch)
        x, y = norm(pixels[i:i + a.batch]), labels[i:i + a.batch]
        t = time.perf_counter()
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - t)
    ms = 1000 * statistics.median(times)
    print(json.dumps({"impl": impl(), "model": a.model, "measure": "train_step", "batch": a.batch,
                      "threads": torch.get_num_threads(), "ms_per_step": round(ms, 3),
                      "images_per_s": round(1000 * a.batch / ms, 1)}))


def bench_eval(a):
    """Evaluation as lab.Evaluate scores a set: eval mode, no_grad, batches of
    a.batch, argmax; the median of a.rounds passes over a.images images."""
    set_threads(a.threads)
    torch.manual_seed(0)
    model = models.build(a.model, a.p)
    model.eval()
    norm = cifar.Normalizer()
    pixels, _ = synthetic(a.images)
    passes = []
    with torch.no_grad():
        model(norm(pixels[:a.batch]))  # warm up
        for _ in range(a.rounds):
            t = time.perf_counter()
            for i in range(0, a.images, a.batch):
                model(norm(pixels[i:i + a.batch])).argmax(1)
            passes.append(time.perf_counter() - t)
    ms = 1000 * statistics.median(passes)
    batches = (a.images + a.batch - 1) // a.batch
    print(json.dumps({"impl": impl(), "model": a.model, "measure": "eval", "batch": a.batch,
                      "threads": torch.get_num_threads(), "ms_per_step": round(ms / batches, 3),
                      "images_per_s": round(1000 * a.images / ms, 1),
                      "ms_per_1000_images": round(1000 * ms / a.images, 3)}))


# ---- parity helpers ----------------------------------------------------------------

def logits(a):
    px, _ = cifar.read_records(a.images, a.n)
    norm = cifar.Normalizer()
    for pair in a.weights:
        name, sep, path = pair.partition("=")
        if not sep:
            raise SystemExit(f"logits: {pair!r} should be MODEL=FILE, e.g. cnn=weights.safetensors")
        model = models.build(name, a.p)
        absent, dtypes, meta = load_weights(model, path, a.loader)
        print(json.dumps({"model": name, "weights": path, "absent_counters": absent, "dtypes": dtypes,
                          "metadata": meta, "loader": "safetensors.torch" if stfile.uses_official(a.loader) else "own",
                          "logits": logits_of(model, px, norm).tolist()}), flush=True)


def state_dict(a):
    out = {}
    for name in a.models:
        out[name] = [{"name": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                     for k, v in models.build(name).state_dict().items()]
    print(json.dumps(out))


def split(a):
    train_pos, val_pos = cifar.split(a.n, a.val, a.seed)
    print(json.dumps({"val": val_pos, "train_head": train_pos[:20],
                      "epoch_order_head": cifar.epoch_order(len(train_pos), a.seed, a.epoch)[:20]}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--model", choices=models.NAMES, default="cnn")
        p.add_argument("--p", type=float, default=0.5, help="DropoutCNN's dropout probability")
        p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps PyTorch's default")

    p = sub.add_parser("train", help="train with the assignment's settings, seed-format logs")
    common(p)
    p.add_argument("--data", default=cifar.default_dir(), help="folder of the binary batches (default $CIFAR10_DIR)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0, help="the split's and the shuffles' seed, as lab.Config.Seed")
    p.add_argument("--val", type=int, default=1000, help="validation images held out (lab's Split)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    p.add_argument("--log-every", type=int, default=200)
    p.add_argument("--test", action=argparse.BooleanOptionalAction, default=True, help="test accuracy at the end")
    p.add_argument("--history", help="write the per-epoch figures here as JSON")
    p.add_argument("--load-weights", help="start from these safetensors weights")
    p.add_argument("--save-weights", help="write the trained weights here (safetensors)")
    p.add_argument("--logits-of", help="print the logits of the images of this CIFAR-10 binary file")
    p.add_argument("--loader", choices=("auto", "official", "own"), default="auto")
    p.set_defaults(func=train)

    p = sub.add_parser("bench-train", help="time training steps on synthetic images")
    common(p)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.set_defaults(func=bench_train)

    p = sub.add_parser("bench-eval", help="time evaluation on synthetic images")
    common(p)
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--rounds", type=int, default=1)
    p.set_defaults(func=bench_eval)

    p = sub.add_parser("logits", help="logits of weights files on the images of a binary file")
    p.add_argument("--images", required=True, help="a CIFAR-10 binary file (label byte + 3,072 pixels per record)")
    p.add_argument("--n", type=int, default=None, help="only the first N images")
    p.add_argument("--p", type=float, default=0.5)
    p.add_argument("--loader", choices=("auto", "official", "own"), default="auto",
                   help="safetensors.torch (official), the minimal reader here (own), or official when installed")
    p.add_argument("weights", nargs="+", metavar="MODEL=FILE")
    p.set_defaults(func=logits)

    p = sub.add_parser("state-dict", help="the models' state_dict names, shapes and dtypes")
    p.add_argument("models", nargs="+", choices=models.NAMES)
    p.set_defaults(func=state_dict)

    p = sub.add_parser("split", help="the seeded split and an epoch's order (Go's PCG)")
    p.add_argument("--n", type=int, default=50000)
    p.add_argument("--val", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch", type=int, default=0)
    p.set_defaults(func=split)

    a = ap.parse_args(argv)
    try:
        a.func(a)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"torchref.py {a.cmd}: {e}")


if __name__ == "__main__":
    main()
