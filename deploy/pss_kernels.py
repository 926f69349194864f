#!/usr/bin/python3
"""Memory of N golab kernels holding CIFAR-10 at once (make hub-pss).

Starts N golab kernels with jupyter_client, has each load CIFAR-10, then
read every image (lab.ChannelStats), and after each step reads
/proc/PID/smaps_rollup and /proc/PID/smaps of each: the whole process, and the mappings of the
batch files alone ("the data"). Pss splits a shared page among the processes
that map it; Private_Clean + Private_Dirty (USS) is what a process holds
alone. The same is measured with GOLAB_MMAP=0 (the pixels read into each
kernel's memory, as before) for comparison.

Run with Debian's /usr/bin/python3 (jupyter_client) and a golab kernelspec
in $JUPYTER_DATA_DIR; CIFAR10_DIR names the data.
"""

import argparse
import json
import os
import sys
import time

from jupyter_client.manager import KernelManager

LOAD = """
import "golab/lab"
data, err := lab.LoadCIFAR("")
if err != nil { panic(err) }
fmt.Println(data.Mapped)
"""

PASS = """
mean, _, err := lab.ChannelStats(data.Train)
if err != nil { panic(err) }
_, _, err = lab.ChannelStats(data.Test)
if err != nil { panic(err) }
fmt.Println(mean[0])
"""


def kib_fields(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] == "kB":
            out[parts[0].rstrip(":")] = out.get(parts[0].rstrip(":"), 0) + int(parts[1])
    return out


def memory(pid, data_dir):
    """Whole-process and batch-file figures of pid, in MB."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        whole = kib_fields(f.read())
    data = {}
    with open(f"/proc/{pid}/smaps") as f:
        cur = None
        for line in f:
            first = line.split()[0] if line.strip() else ""
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                cur = path.startswith(data_dir)
            elif cur:
                for k, v in kib_fields(line).items():
                    data[k] = data.get(k, 0) + v

    def pick(d):
        return {
            "rss": d.get("Rss", 0) / 1024,
            "pss": d.get("Pss", 0) / 1024,
            "uss": (d.get("Private_Clean", 0) + d.get("Private_Dirty", 0)) / 1024,
        }

    return {"process": pick(whole), "data": pick(data)}


def run(n, env_extra, data_dir, timeout):
    kms, kcs = [], []
    env = dict(os.environ, **env_extra)
    try:
        for _ in range(n):
            km = KernelManager(kernel_name="golab")
            km.start_kernel(env=env)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            kms.append(km)
            kcs.append(kc)
        pids = [km.provisioner.process.pid for km in kms]
        stages = [[memory(p, data_dir) for p in pids]]
        for code in (LOAD, PASS):
            for kc in kcs:
                reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: None)
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"a kernel failed: {reply['content']}")
            time.sleep(0.5)
            stages.append([memory(p, data_dir) for p in pids])
        return stages
    finally:
        for kc in kcs:
            kc.stop_channels()
        for km in kms:
            km.shutdown_kernel(now=True)


def summary(label, stages):
    before, loaded, passed = stages
    n = len(before)
    avg = lambda rows, part, k: sum(r[part][k] for r in rows) / n
    print(f"{label}: {n} kernels at once (MiB, mean over kernels)")
    out = {"kernels": n}
    for name, rows in (("after LoadCIFAR", loaded), ("after a pass over every image", passed)):
        print(f"  {name}:")
        print(f"    data (batch-file mappings): Rss {avg(rows, 'data', 'rss'):6.1f}  Pss {avg(rows, 'data', 'pss'):6.1f}  private {avg(rows, 'data', 'uss'):6.1f}")
        print(f"    whole kernel:               Rss {avg(rows, 'process', 'rss'):6.1f}  Pss {avg(rows, 'process', 'pss'):6.1f}  private {avg(rows, 'process', 'uss'):6.1f}"
              f"  (private before the load {avg(before, 'process', 'uss'):.1f})")
        out[name] = {
            "data": {k: avg(rows, "data", k) for k in ("rss", "pss", "uss")},
            "process": {k: avg(rows, "process", k) for k in ("rss", "pss", "uss")},
            "private_growth": avg(rows, "process", "uss") - avg(before, "process", "uss"),
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="kernels at once (default 5)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    data_dir = os.path.realpath(os.environ.get("CIFAR10_DIR", ""))
    if not os.path.exists(os.path.join(data_dir, "test_batch.bin")):
        sys.exit("set CIFAR10_DIR to the folder of CIFAR-10's binary batches")
    res = {"date": time.strftime("%Y-%m-%d %H:%M"), "cifar": data_dir}
    res["mapped"] = summary("mapped (default)", run(a.n, {}, data_dir, a.timeout))
    res["read"] = summary("GOLAB_MMAP=0 (read into memory, as before)", run(a.n, {"GOLAB_MMAP": "0"}, data_dir, a.timeout))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    worst = res["mapped"]["after a pass over every image"]
    ok = worst["data"]["uss"] <= 10 and worst["private_growth"] <= 10
    print("data private memory per kernel ≤ 10 MiB:", "yes" if ok else "NO")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
