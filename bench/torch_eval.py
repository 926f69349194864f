#!/usr/bin/env python3
"""Times PyTorch evaluation of one of torch_ref.py's models, the way
torch_ref.py's accuracy() scores a set: eval mode, no_grad, batches of 500.

  torch_eval.py --torch-ref ../shared/bench/torch_ref.py --model cnn --images 10000

Prints one JSON line with the keys of torch_ref.py's --bench-steps line
(impl, model, batch, threads, ms_per_step, images_per_s), where a step is
one batch, plus ms_per_1000_images.
"""
import argparse, importlib.util, json, time

import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--torch-ref", required=True, help="path of torch_ref.py")
ap.add_argument("--model", default="cnn")
ap.add_argument("--images", type=int, default=10000)
ap.add_argument("--batch", type=int, default=500)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=3, help="passes over the images; the median pass counts")
a = ap.parse_args()

spec = importlib.util.spec_from_file_location("torch_ref", a.torch_ref)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = ref.MODELS[a.model]()
model.eval()
x = torch.randn(a.images, 3, 32, 32)
passes = []
with torch.no_grad():
    model(x[:a.batch])  # warm up
    for _ in range(a.rounds):
        t = time.perf_counter()
        for i in range(0, a.images, a.batch):
            model(x[i:i + a.batch]).argmax(1)
        passes.append(time.perf_counter() - t)
ms = 1000 * float(np.median(passes))
per_batch = ms / ((a.images + a.batch - 1) // a.batch)
print(json.dumps({"impl": "pytorch " + torch.__version__, "model": a.model, "measure": "eval",
                  "batch": a.batch, "threads": a.threads, "ms_per_step": round(per_batch, 3),
                  "images_per_s": round(1000 * a.images / ms, 1),
                  "ms_per_1000_images": round(1000 * ms / a.images, 3)}))
