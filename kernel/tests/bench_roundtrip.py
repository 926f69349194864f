"""Measures the round trip of a trivial cell as a Python front end sees it:
from sending execute_request with jupyter_client to receiving the cell's
`status: idle` on iopub, median and 90th percentile. Two clients:

  - jupyter_client's BlockingKernelClient (what scripts and nbclient use);
  - jupyter_client's Session on plain pyzmq sockets (no asyncio loop).

For the first it also prints the CPU time each process spends per cell,
which says where the time goes on a busy machine. Runs with any Python that
has jupyter_client, against the "golab" kernelspec (make bench-kernel
installs one into a throwaway JUPYTER_DATA_DIR). make bench-kernel also runs
it against kernel/tests/floorkernel ("golab-floor"), which sends the same
messages and runs nothing: the floor that client and messaging set.

    python3 kernel/tests/bench_roundtrip.py [--cells 500] [--code '1 + 1'] [--kernel golab]
"""

import argparse
import os
import resource
import statistics
import time

import zmq
from jupyter_client.manager import KernelManager, start_new_kernel
from jupyter_client.session import Session


def summary(label, times):
    times = sorted(times)
    median = statistics.median(times)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"{label}: median {median:.2f} ms, p90 {p90:.2f} ms ({len(times)} cells)")


def process_cpu(pid):
    """CPU seconds (user + system) a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def blocking_client(args):
    km, kc = start_new_kernel(kernel_name=args.kernel, startup_timeout=60)
    try:
        def cell():
            start = time.perf_counter()
            msg_id = kc.execute(args.code)
            while True:
                m = kc.get_iopub_msg(timeout=30)
                if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                        and m["content"]["execution_state"] == "idle"):
                    break
            elapsed = time.perf_counter() - start
            reply = kc.get_shell_msg(timeout=30)
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"cell failed: {reply['content']}")
            return elapsed * 1000

        for _ in range(args.warmup):
            cell()
        pid = km.provisioner.process.pid if km.provisioner else None
        k0, c0 = (process_cpu(pid) if pid else 0), own_cpu()
        times = [cell() for _ in range(args.cells)]
        k1, c1 = (process_cpu(pid) if pid else 0), own_cpu()
        summary(f"python jupyter_client (BlockingKernelClient) round trip to idle, {args.code!r}", times)
        if pid:
            print(f"  CPU per cell: python client {(c1 - c0) / args.cells * 1000:.2f} ms, "
                  f"kernel {(k1 - k0) / args.cells * 1000:.2f} ms")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def lean_client(args):
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel()
    ctx = zmq.Context()
    try:
        ci = km.get_connection_info(session=False)
        sess = Session(key=ci["key"], signature_scheme=ci["signature_scheme"])
        url = f"{ci.get('transport', 'tcp')}://{ci['ip']}:"
        shell = ctx.socket(zmq.DEALER)
        shell.connect(url + str(ci["shell_port"]))
        iopub = ctx.socket(zmq.SUB)
        iopub.setsockopt(zmq.SUBSCRIBE, b"")
        iopub.connect(url + str(ci["iopub_port"]))
        # Wait until the kernel answers and iopub is connected.
        deadline = time.time() + 60
        while True:
            sess.send(shell, "kernel_info_request", {})
            if iopub.poll(1000) and shell.poll(1000):
                break
            if time.time() > deadline:
                raise SystemExit("the kernel did not answer")
        while iopub.poll(200):
            iopub.recv_multipart()
        while shell.poll(200):
            shell.recv_multipart()

        def cell():
            start = time.perf_counter()
            msg = sess.send(shell, "execute_request", {"code": args.code, "silent": False, "store_history": True,
                                                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
            msg_id = msg["header"]["msg_id"]
            while True:
                _, parts = sess.feed_identities(iopub.recv_multipart())
                m = sess.deserialize(parts)
                if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                        and m["content"]["execution_state"] == "idle"):
                    break
            elapsed = time.perf_counter() - start
            _, parts = sess.feed_identities(shell.recv_multipart())
            return elapsed * 1000

        for _ in range(args.warmup):
            cell()
        summary(f"python jupyter_client Session on pyzmq round trip to idle, {args.code!r}",
                [cell() for _ in range(args.cells)])
    finally:
        ctx.destroy(linger=0)
        km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--code", default="1 + 1")
    ap.add_argument("--kernel", default="golab")
    args = ap.parse_args()
    blocking_client(args)
    lean_client(args)


if __name__ == "__main__":
    main()
