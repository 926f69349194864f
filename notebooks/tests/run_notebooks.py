#!/usr/bin/env python3
"""Execute golab's notebooks headless through nbclient and check them.

Each notebook is executed top to bottom in the golab kernel, from the
notebooks folder (so relative paths such as the run folders resolve as they
do for a user), and the executed copy is written to --out; the committed
notebooks are never modified. With --check, the run fails unless every
notebook executes without a cell error, shows at least the image/png outputs
its exercise calls for (MIN_PNG), prints the lines it must (MUST_PRINT) and
never a count of one with a plural noun ("1 epochs").

QUICK=1 in the environment, or --quick, makes the notebooks use a subset of
the data and one epoch. Needs nbclient: run it with the project's Python
(.venv/bin/python; make notebooks does).
"""

import argparse
import base64
import glob
import json
import os
import re
import struct
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.dirname(HERE)

# The image/png outputs each notebook must produce in QUICK mode, at least:
# the figures its exercise asks for. The live training view ends with its
# curves as image/png, so each training run counts one.
MIN_PNG = {
    "01-dataset": 3,     # 4 images with classes, the same from a normalized batch, validation images
    "02-model": 1,       # untrained predictions
    "03-training": 2,    # live view, loss and accuracy curves
    "04-dropout": 6,     # live view and curves for one p, a live view per p of the loop, overlaid curves
    "05-best-model": 4,  # 4 validation images, softmax table, bars beside each image, confusion matrix
    "06-improved": 7,    # live view, curves, curves against CNNModel; going further: a batch plain and augmented, live view, curves
    "07-questions": 5,   # softmax, momentum paths and losses, 1D convolution, dropout noise
}

# Lines (substrings of the text output) each notebook must print.
MUST_PRINT = {
    "01-dataset": ["Training size:   49000", "Validation size: 1000", "equal to lab.ChannelStats within 1e-6: true"],
    "02-model": ["Total params: 890,410", "model.NumParams() = 890410"],
    "03-training": ["best validation accuracy:"],
    "04-dropout": ["DropoutCNN p=0.5", "val acc after"],
    "05-best-model": ["validation accuracy:", "test accuracy:"],
    "06-improved": ["Total params: 4,270,474", "test accuracy", "Total params: 1,129,514", "FurtherCNN after"],
    "07-questions": ["sum of the probabilities: 1.000000", "values pass unchanged"],
}


# A count of one with a plural noun ("1 epochs", "1 images"): QUICK mode
# trains for one epoch, so it would show here.
ONE_PLURAL = re.compile(r"(?<![\d.,])1 (epochs|steps|images|lines|updates|runs|files|labels|rows)\b")


def png_size(data):
    """Returns the width and height in a PNG's header, or None if data is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def outputs(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                yield i, out


def inspect(nb):
    """Counts the notebook's image/png outputs and collects its errors and text."""
    pngs, errors, bad, text = [], [], [], []
    for i, out in outputs(nb):
        kind = out.get("output_type")
        if kind == "error":
            errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
        elif kind == "stream":
            text.append(out.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            text.append(str(data.get("text/plain", "")))
            text.append(str(data.get("text/html", "")))
            if "image/png" in data:
                raw = base64.b64decode(data["image/png"])
                size = png_size(raw)
                if size is None or size[0] == 0 or size[1] == 0:
                    bad.append(f"cell {i}: image/png output is not a valid PNG")
                else:
                    pngs.append((i, size))
    return pngs, errors, bad, "".join(text)


def run_one(path, out_dir, kernel, timeout):
    nb = nbformat.read(path, as_version=4)
    name = os.path.splitext(os.path.basename(path))[0]
    client = NotebookClient(
        nb,
        kernel_name=kernel or nb.metadata.get("kernelspec", {}).get("name", ""),
        timeout=timeout,
        allow_errors=True,
        resources={"metadata": {"path": NOTEBOOKS}},
    )
    start = time.monotonic()
    failure = None
    try:
        client.execute()
    except Exception as e:  # a dead or hung kernel, a timeout: report it and go on
        failure = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
    seconds = time.monotonic() - start
    os.makedirs(out_dir, exist_ok=True)
    nbformat.write(nb, os.path.join(out_dir, name + ".ipynb"))
    pngs, errors, bad, text = inspect(nb)
    return {"name": name, "seconds": round(seconds, 1), "png": len(pngs),
            "png_sizes": [f"cell {i}: {w}x{h}" for i, (w, h) in pngs],
            "errors": errors, "bad_png": bad, "failure": failure, "text": text}


def check(result):
    """Returns the reasons a notebook's run does not pass."""
    name, why = result["name"], []
    if result["failure"]:
        why.append(result["failure"])
    why += result["errors"] + result["bad_png"]
    want = MIN_PNG.get(name)
    if want is not None and result["png"] < want:
        why.append(f"{result['png']} image/png outputs, want at least {want}")
    for line in MUST_PRINT.get(name, []):
        if line not in result["text"]:
            why.append(f"does not print {line!r}")
    for m in ONE_PLURAL.finditer(result["text"]):
        why.append(f"prints {m.group(0)!r}: {result['text'][max(0, m.start() - 60):m.end() + 20]!r}")
    return why


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: every notebooks/0*.ipynb)")
    ap.add_argument("--out", default=os.path.join(NOTEBOOKS, ".executed"), help="folder for the executed copies")
    ap.add_argument("--kernel", default="", help="kernel name (default: the notebook's kernelspec)")
    ap.add_argument("--quick", action="store_true", help="set QUICK=1: a subset of the data and one epoch")
    ap.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: 900 in QUICK mode, none otherwise)")
    ap.add_argument("--check", action="store_true", help="fail unless every notebook passes MIN_PNG and MUST_PRINT")
    args = ap.parse_args()

    if args.quick:
        os.environ["QUICK"] = "1"
    quick = os.environ.get("QUICK") == "1"
    timeout = args.timeout if args.timeout is not None else (900 if quick else -1)
    paths = args.notebooks or sorted(glob.glob(os.path.join(NOTEBOOKS, "0*.ipynb")))
    if not paths:
        sys.exit("run_notebooks: no notebooks found")

    print(f"Executing {len(paths)} notebooks{' in QUICK mode' if quick else ''}; executed copies go to {args.out}")
    results, failed = [], False
    for p in paths:
        r = run_one(p, args.out, args.kernel, timeout)
        why = check(r) if args.check else (r["errors"] + ([r["failure"]] if r["failure"] else []))
        want = MIN_PNG.get(r["name"], "-")
        status = "ok" if not why else "FAIL"
        failed |= bool(why)
        print(f"  {r['name']:<15} {status:<4} {r['seconds']:7.1f} s  image/png {r['png']:2d} (min {want})")
        for w in why:
            print(f"      {w}")
        r.pop("text")
        results.append(r)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"quick": quick, "results": results}, f, indent=1)
    if failed:
        sys.exit("run_notebooks: some notebooks failed (see above; executed copies in %s)" % args.out)


if __name__ == "__main__":
    main()
