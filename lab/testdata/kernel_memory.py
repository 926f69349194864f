"""The fault probe's memory cell, through the real golab kernel: train a new
model on 300 CIFAR-10 images for one epoch, again and again in one kernel,
and read the kernel's live heap after a garbage collection after each run.

    export JUPYTER_DATA_DIR=$(mktemp -d)
    make kernel                                   # installs the golab kernelspec there
    /usr/bin/python3 lab/testdata/kernel_memory.py --runs 30 --max-growth 50

It prints one line per run (live heap and RSS in MB) and, per network, the
growth of the live heap from run 2 to the last run; with --max-growth it
exits 1 when a network grows by more. CIFAR-10 comes from $CIFAR10_DIR
(default ../shared/cifar-10-batches-bin). It needs jupyter_client (Debian's
/usr/bin/python3 has it). A run of the three networks, 30 runs each, takes
about ten minutes on two cores.
"""

import argparse
import json
import os
import sys
import time

from jupyter_client.manager import start_new_kernel

NETWORKS = {
    "CNNModel": "models.CNNModel()",
    "DropoutCNN": "models.DropoutCNN(0.5)",
    "ImprovedCNN": "models.ImprovedCNN()",
}

SETUP = """\
import (
    "os"
    "runtime"
    "strconv"
    "strings"

    "golab/lab"
    "golab/lab/models"
)

data, err := lab.LoadCIFAR(%(dir)s)
if err != nil {
    panic(err)
}
all, _ := data.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
train, val, _ := all.Split(1000, 0)
train300, val100 := train.Head(300), val.Head(100)

// liveMemory returns the live heap after a garbage collection and the RSS, in MB.
func liveMemory() string {
    runtime.GC()
    runtime.GC()
    var ms runtime.MemStats
    runtime.ReadMemStats(&ms)
    rss := 0.0
    if b, err := os.ReadFile("/proc/self/status"); err == nil {
        for _, l := range strings.Split(string(b), "\\n") {
            if strings.HasPrefix(l, "VmRSS:") {
                kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
                rss = kb / 1024
            }
        }
    }
    return strconv.FormatFloat(float64(ms.HeapAlloc)/(1<<20), 'f', 1, 64) + " " + strconv.FormatFloat(rss, 'f', 1, 64)
}
"""

# The probe's cell, as a student would write it.
CELL = "m, _ := %s; lab.Train(m, train300, val100, lab.Config{Epochs: 1})"


def run(kc, code, timeout=600):
    """Runs a cell; returns its text/plain result, raising on an error."""
    msg_id = kc.execute(code, store_history=False)
    result, error = None, None
    deadline = time.time() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "execute_result":
            result = c["data"].get("text/plain")
        elif t == "error":
            error = "\n".join(c.get("traceback") or [c.get("evalue", "")])
        elif t == "status" and c["execution_state"] == "idle":
            break
    if error:
        raise RuntimeError(f"cell failed:\n{code}\n{error}")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--kernel", default="golab", help="kernelspec name")
    ap.add_argument("--max-growth", type=float, help="fail when the live heap grows more (MB, run 2 to last)")
    a = ap.parse_args()

    cifar = os.environ.get("CIFAR10_DIR") or os.path.join(os.path.dirname(__file__), "../../../shared/cifar-10-batches-bin")
    km, kc = start_new_kernel(kernel_name=a.kernel)
    summary, failed = {}, False
    try:
        run(kc, SETUP % {"dir": json.dumps(os.path.abspath(cifar))})
        print("after loading CIFAR-10: live heap, RSS (MB):", run(kc, "liveMemory()"), flush=True)
        for name in a.networks.split(","):
            heaps = []
            for i in range(1, a.runs + 1):
                t0 = time.time()
                run(kc, CELL % NETWORKS[name])
                heap, rss = map(float, run(kc, "liveMemory()").strip('"').split())
                heaps.append(heap)
                print(f"{name} run {i:2d}: live heap {heap:7.1f} MB, RSS {rss:7.1f} MB ({time.time() - t0:.1f} s)", flush=True)
            growth = heaps[-1] - heaps[1] if len(heaps) > 1 else 0.0
            summary[name] = {"run2_mb": heaps[1] if len(heaps) > 1 else None, "last_mb": heaps[-1], "growth_mb": round(growth, 1), "runs": a.runs}
            print(f"{name}: live heap run 2 → run {a.runs}: {growth:+.1f} MB", flush=True)
            if a.max_growth is not None and growth > a.max_growth:
                failed = True
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps({"kernel_memory": summary}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
