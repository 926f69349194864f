"""Load test of golab's hub: N students at once, on loopback (make hub-load N=30).

Starts its own hub (deploy/hub.sh) in a temporary state folder, then:

1. creates N users through the hub's REST API (the golab-admin service token);
2. starts their servers, all at once, and times each from request to ready;
3. in every server, concurrently, opens a golab kernel through the server's
   REST API and runs a notebook's code cells over the kernel's websocket
   (01-dataset, then 03-training in a new kernel, both with QUICK=1), timing
   each notebook and counting cells that fail;
4. samples every second the memory (Rss, Pss, anonymous) and CPU time of each
   student's processes (their server and kernels) and the host's used memory;
5. prints the figures and the class size this host can hold, writes them as
   JSON (--out), and cleans up: servers, users, the hub, its processes and
   the temporary folder, also on Ctrl-C or when the deadline passes.

Run it with deploy/.venv's Python (tornado, from JupyterHub).
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NOTEBOOKS = ["01-dataset", "03-training"]
SETUP = 'import "os"\nos.Setenv("QUICK", "1")'


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out


# --- sampling each student's processes ------------------------------------------------


# What a student's processes are: the JupyterLab server, golab kernels, and
# the Go toolchain building //golab:compile plugins for a kernel.
KINDS = ("server", "kernels", "toolchain")


def process_kind(cmdline):
    argv0 = cmdline.split(b"\0", 1)[0]
    if b"golab-kernel" in argv0:
        return "kernels"
    if argv0.endswith(b"/bin/go") or b"/pkg/tool/" in argv0:
        return "toolchain"
    return "server"


class Sampler(threading.Thread):
    """Every interval: Rss/Pss/anonymous memory of each user's processes (found by
    JUPYTERHUB_USER in their environment), their CPU time, and the host's
    used memory (MemTotal - MemAvailable)."""

    def __init__(self, users, run, interval=1.0):
        super().__init__(daemon=True)
        self.run_dir = run.encode()
        self.hub_peak = 0  # Rss of the hub, its proxy and services
        self.users = set(users)
        self.interval = interval
        self.stop = threading.Event()
        self.owner = {}  # pid -> user (None: not a student's)
        self.peak = {u: {"rss": 0, "pss": 0, "uss": 0} for u in users}
        # The same split by kind: the JupyterLab server, the golab kernels.
        self.kind_peak = {u: {k: dict(rss=0, pss=0, uss=0) for k in KINDS} for u in users}
        self.cpu = {}  # pid -> (user, seconds)
        self.host_peak = 0
        self.kernels_peak = 0

    def user_of(self, pid):
        """The student pid works for, "" for the hub's own processes, or None."""
        if pid not in self.owner:
            user = None
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read()
                for kv in env.split(b"\0"):
                    if kv.startswith(b"JUPYTERHUB_USER="):
                        u = kv.split(b"=", 1)[1].decode()
                        user = u if u in self.users else None
                        break
                else:
                    if b"GOLAB_HUB_RUN=" + self.run_dir in env:
                        user = ""
            except OSError:
                return None
            self.owner[pid] = user
        return self.owner[pid]

    def sample(self):
        totals = {u: {"rss": 0, "pss": 0, "uss": 0} for u in self.users}
        kinds = {u: {k: dict(rss=0, pss=0, uss=0) for k in KINDS} for u in self.users}
        tick = os.sysconf("SC_CLK_TCK")
        kernels = 0
        hub_rss = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            u = self.user_of(pid)
            if u is None:
                continue
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    m = {}
                    for line in f:
                        parts = line.split()
                        if len(parts) == 3 and parts[2] == "kB":
                            m[parts[0].rstrip(":")] = int(parts[1]) * 1024
                if u == "":
                    hub_rss += m.get("Rss", 0)
                    continue
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    kind = process_kind(f.read())
            except OSError:
                continue
            kernels += kind == "kernels"
            # "uss" here is anonymous memory (heap, stacks): what the student
            # alone costs. Private_Clean would also count file pages (the
            # mapped data set, the kernel binary) whenever only one process
            # happens to map them, though the page cache holds them once.
            vals = {"rss": m.get("Rss", 0), "pss": m.get("Pss", 0), "uss": m.get("Anonymous", 0)}
            for k, v in vals.items():
                totals[u][k] += v
                kinds[u][kind][k] += v
            self.cpu[pid] = (u, (int(st[11]) + int(st[12])) / tick)
        for u, t in totals.items():
            for k in t:
                self.peak[u][k] = max(self.peak[u][k], t[k])
                for kind in KINDS:
                    self.kind_peak[u][kind][k] = max(self.kind_peak[u][kind][k], kinds[u][kind][k])
        mi = meminfo()
        self.host_peak = max(self.host_peak, mi["MemTotal"] - mi["MemAvailable"])
        self.kernels_peak = max(self.kernels_peak, kernels)
        self.hub_peak = max(self.hub_peak, hub_rss)

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def cpu_per_user(self):
        out = {u: 0.0 for u in self.users}
        for u, s in self.cpu.values():
            out[u] += s
        return out


# --- the hub's REST API ------------------------------------------------------------------


class Hub:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token
        self.http = AsyncHTTPClient(max_clients=256)

    async def api(self, method, path, body=None, ok=(200, 201, 202, 204), timeout=120):
        req = HTTPRequest(
            self.url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=timeout,
        )
        try:
            resp = await self.http.fetch(req, raise_error=False)
        except Exception as e:  # connection errors
            raise RuntimeError(f"{method} {path}: {e}") from e
        if resp.code not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {resp.code} {resp.body[:300]!r}")
        return json.loads(resp.body) if resp.body else None


async def wait_hub(hub, proc, deadline):
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the hub exited with {proc.returncode}")
        try:
            await hub.api("GET", "/hub/api/", timeout=5)
            return
        except Exception:
            await asyncio.sleep(0.5)
    raise RuntimeError("the hub did not answer in time")


async def start_server(hub, user, deadline):
    t0 = time.time()
    await hub.api("POST", f"/hub/api/users/{user}/server", timeout=300)
    while time.time() < deadline:
        info = await hub.api("GET", f"/hub/api/users/{user}")
        srv = info.get("servers", {}).get("")
        if srv and srv.get("ready"):
            return time.time() - t0
        if not info.get("pending") and not srv:
            raise RuntimeError(f"{user}: the server stopped while starting (see the hub log)")
        # Every 2 s: N students polling faster keep the hub itself busy.
        await asyncio.sleep(2)
    raise RuntimeError(f"{user}: the server was not ready before the deadline")


# --- a kernel through the server's REST and websocket APIs ---------------------------


def message(msg_type, content, session):
    return {
        "header": {"msg_id": uuid.uuid4().hex, "username": "hub-load", "session": session,
                   "msg_type": msg_type, "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
    }


def notebook_cells(nb_name):
    """The code run for a notebook: SETUP, then its code cells."""
    with open(os.path.join(REPO, "notebooks", nb_name + ".ipynb")) as f:
        nb = json.load(f)
    return [SETUP] + ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


class Tally:
    """What the students' kernels did: the cells that succeeded (counted as
    they reply, so a notebook cut short still counts the cells before), and
    the kernels' own notes (stderr lines starting "golab:")."""

    def __init__(self):
        self.ok = 0
        self.notes = set()


async def run_notebook(hub, user, nb_name, cell_timeout, deadline, tally):
    """Runs the notebook's code cells in a new golab kernel; returns (seconds,
    cells run, failures as text), counting into tally."""
    cells = notebook_cells(nb_name)
    t0 = time.time()
    base = f"/user/{user}/api"
    try:
        kernel = await hub.api("POST", f"{base}/kernels", {"name": "golab"}, timeout=300)
    except Exception as e:
        raise RuntimeError(f"{nb_name}: starting a kernel: {e}") from e
    failures = []
    try:
        ws_url = hub.url.replace("http", "ws", 1) + f"{base}/kernels/{kernel['id']}/channels"
        # The server answers the websocket handshake once the new kernel
        # replies: a minute with 30 kernels starting on 2 cores. The
        # browser waits as long; tornado's default gives up after 20 s.
        wait = max(1, min(300, deadline - time.time()))
        try:
            ws = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {hub.token}"},
                                                     connect_timeout=wait, request_timeout=wait),
                                         max_message_size=64 << 20)
        except Exception as e:
            raise RuntimeError(f"{nb_name}: connecting to the new kernel's websocket: {type(e).__name__}: {e}") from e
        session = uuid.uuid4().hex
        try:
            info = message("kernel_info_request", {}, session)
            await ws.write_message(json.dumps(info))
            try:
                await receive(ws, info["header"]["msg_id"], want_reply=True, timeout=min(120, deadline - time.time()))
            except Exception as e:
                raise RuntimeError(f"{nb_name}: the new kernel's kernel_info: {type(e).__name__}: {e}") from e
            for i, code in enumerate(cells):
                msg = message("execute_request", {"code": code, "silent": False, "store_history": True,
                                                  "user_expressions": {}, "allow_stdin": False,
                                                  "stop_on_error": False}, session)
                await ws.write_message(json.dumps(msg))
                t_cell = time.time()
                try:
                    reply = await receive(ws, msg["header"]["msg_id"], want_reply=True,
                                          timeout=min(cell_timeout, deadline - time.time()), notes=tally.notes)
                except Exception as e:
                    raise RuntimeError(f"{nb_name} cell {i} (after {time.time() - t_cell:.0f} s): {type(e).__name__}: {e}") from e
                if reply["content"].get("status") == "ok":
                    tally.ok += 1
                else:
                    c = reply["content"]
                    failures.append(f"{user} {nb_name} cell {i}: {c.get('ename')}: {c.get('evalue')}")
        finally:
            ws.close()
    finally:
        try:
            await hub.api("DELETE", f"{base}/kernels/{kernel['id']}")
        except Exception as e:
            failures.append(f"{user} {nb_name}: shutting the kernel down: {e}")
    return time.time() - t0, len(cells), failures


async def receive(ws, msg_id, want_reply, timeout, notes=None):
    """Reads messages until the shell reply to msg_id and iopub's idle for it."""
    reply, idle = None, False
    end = time.time() + max(timeout, 1)
    while reply is None or not idle:
        left = end - time.time()
        if left <= 0:
            raise TimeoutError(f"no reply in {timeout:.0f} s")
        try:
            raw = await asyncio.wait_for(ws.read_message(), left)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no reply in {timeout:.0f} s") from None
        if raw is None:
            raise RuntimeError("the kernel's websocket closed")
        m = json.loads(raw)
        if m.get("msg_type") == "status" and m["content"].get("execution_state") in ("restarting", "dead"):
            raise RuntimeError(f"the kernel died ({m['content']['execution_state']}): out of memory?")
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if notes is not None and m["msg_type"] == "stream" and m["content"].get("name") == "stderr":
            notes.update(line for line in m["content"].get("text", "").splitlines() if line.startswith("golab:"))
        if m["channel"] == "shell":
            reply = m
        elif m["channel"] == "iopub" and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            idle = True
    return reply


async def student(hub, user, args, deadline, res):
    try:
        res["start"][user] = await start_server(hub, user, deadline)
        for nb in NOTEBOOKS:
            secs, n, fails = await run_notebook(hub, user, nb, args.cell_timeout, deadline, res["tally"])
            res["notebooks"].append({"user": user, "notebook": nb, "seconds": secs, "cells": n})
            res["failures"] += fails
    except Exception as e:
        res["failures"].append(f"{user}: {type(e).__name__}: {e}")


# --- the run ----------------------------------------------------------------------------


def cpuacct(hub_pid, users):
    """Each user's CPU seconds from the spawner's cpuacct cgroups (exact,
    exited kernels included), or None where there are none."""
    own = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "cpuacct" in ctrls.split(","):
                own = path
    if own is None:
        return None
    out = {}
    for u in users:
        try:
            with open(f"/sys/fs/cgroup/cpuacct{own}/golab-hub-{hub_pid}/{u}/cpuacct.usage") as f:
                out[u] = int(f.read()) / 1e9
        except OSError:
            return None
    return out


def stop_hub(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def leftovers(run):
    """Processes still running whose command line or environment names the
    run folder (the hub, servers, kernels; should be none)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            for part in ("cmdline", "environ"):
                try:
                    with open(f"/proc/{name}/{part}", "rb") as f:
                        if run.encode() in f.read():
                            found.append(int(name))
                            break
                except OSError:
                    pass
    return found


async def main_async(args, run, env, res):
    token = env["GOLAB_HUB_TOKEN"]
    url = f"http://127.0.0.1:{env['GOLAB_HUB_PORT']}"
    log = open(os.path.join(run, "hub.log"), "w")
    t_begin = time.time()
    deadline = t_begin + args.deadline
    base_used = meminfo()
    res["host_used_before"] = base_used["MemTotal"] - base_used["MemAvailable"]
    proc = subprocess.Popen([os.path.join(HERE, "hub.sh")], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    hub = Hub(url, token)
    users = [f"student{i:03d}" for i in range(1, args.n + 1)]
    sampler = Sampler(users, run)
    try:
        await wait_hub(hub, proc, min(deadline, time.time() + 180))
        print(f"hub-load: hub up at {url} in {time.time() - t_begin:.1f} s; {args.n} students", flush=True)
        await hub.api("POST", "/hub/api/users", {"usernames": users})
        sampler.start()
        t0 = time.time()
        await asyncio.gather(*(student(hub, u, args, deadline, res) for u in users))
        res["wall"] = time.time() - t0
        res["cpuacct"] = cpuacct(proc.pid, users)
    finally:
        sampler.stop.set()
        if sampler.is_alive():
            sampler.join()
        res["peak"] = sampler.peak
        res["kind_peak"] = sampler.kind_peak
        res["cpu"] = sampler.cpu_per_user()
        res["host_peak"] = sampler.host_peak
        res["kernels_peak"] = sampler.kernels_peak
        res["hub_peak"] = sampler.hub_peak
        # Clean up: servers, users, then the hub and its proxy.
        try:
            await asyncio.wait_for(asyncio.gather(*(hub.api("DELETE", f"/hub/api/users/{u}/server", ok=(202, 204, 400, 404), timeout=120) for u in users),
                                                  return_exceptions=True), 180)
            for _ in range(120):
                info = await hub.api("GET", "/hub/api/users")
                if not any(u.get("servers") or u.get("pending") for u in info if u["name"] in users):
                    break
                await asyncio.sleep(1)
            await asyncio.gather(*(hub.api("DELETE", f"/hub/api/users/{u}", ok=(204, 404)) for u in users),
                                 return_exceptions=True)
        except Exception as e:
            res["failures"].append(f"cleanup through the API: {e}")
        stop_hub(proc)
        log.close()


def report(args, res):
    mi = meminfo()
    starts = list(res["start"].values())
    nbs = [r["seconds"] for r in res["notebooks"]]
    per = {nb: [r["seconds"] for r in res["notebooks"] if r["notebook"] == nb] for nb in NOTEBOOKS}
    mb = 1 / 2**20
    peaks = list(res["peak"].values())
    rss = [p["rss"] * mb for p in peaks]
    pss = [p["pss"] * mb for p in peaks]
    uss = [p["uss"] * mb for p in peaks]
    cpu = list((res.get("cpuacct") or res["cpu"]).values())
    cpu_how = "cgroup cpuacct" if res.get("cpuacct") else "sampled /proc/PID/stat"
    cores = os.cpu_count()
    total = mi["MemTotal"] * mb
    data_mb = 60000 * 3073 * mb  # CIFAR-10, mapped once for all kernels
    hub_mb = 300  # hub, proxy and culler, and the shared program files (deploy/README.md)
    usable = 0.9 * total - hub_mb - data_mb
    n_mem = int(usable / pct(uss, 95)) if uss and pct(uss, 95) > 0 else 0
    cpu95 = pct(cpu, 95)
    n_cpu = int(args.target * cores / cpu95) if cpu95 > 0 else 0
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "students": args.n, "cores": cores, "mem_total_mb": round(total),
        "server_start_s": {"p50": pct(starts, 50), "p95": pct(starts, 95), "n": len(starts)},
        "notebook_s": {"p50": pct(nbs, 50), "p95": pct(nbs, 95), "n": len(nbs),
                       **{nb: {"p50": pct(v, 50), "p95": pct(v, 95)} for nb, v in per.items()}},
        "cells_expected": res["expected"], "cells_ok": res["tally"].ok,
        "cells_failed": res["expected"] - res["tally"].ok, "failures": res["failures"][:50],
        "kernel_warnings": sorted(res["tally"].notes)[:20],
        "per_student_peak_mb": {
            "rss": {"p50": pct(rss, 50), "p95": pct(rss, 95), "max": max(rss, default=0)},
            "pss": {"p50": pct(pss, 50), "p95": pct(pss, 95), "max": max(pss, default=0)},
            "anonymous": {"p50": pct(uss, 50), "p95": pct(uss, 95), "max": max(uss, default=0)},
        },
        "per_student_peak_by_kind_mb": {
            kind: {k: pct([p[kind][k] * mb for p in res["kind_peak"].values()], 50) for k in ("rss", "pss", "uss")}
            for kind in KINDS},
        "per_student_cpu_s": {"p50": pct(cpu, 50), "p95": cpu95, "total": sum(cpu), "how": cpu_how},
        "kernels_at_once_peak": res["kernels_peak"],
        "hub_rss_peak_mb": res["hub_peak"] * mb,
        "host_used_mb": {"before": res["host_used_before"] * mb, "peak": res["host_peak"] * mb,
                         "peak_minus_before": (res["host_peak"] - res["host_used_before"]) * mb},
        "wall_s": res.get("wall"),
        "capacity": {
            "memory_bound": n_mem,
            "memory_rule": f"(0.9 × {total:.0f} MB − {hub_mb} MB hub − {data_mb:.0f} MB shared data) / {pct(uss, 95):.0f} MB anonymous memory per student (p95 peak)",
            "cpu_bound": n_cpu,
            "cpu_rule": f"{args.target:.0f} s × {cores} cores / {cpu95:.1f} CPU-s per student (p95): everyone runs these notebooks at once and all finish within {args.target:.0f} s",
        },
    }
    print(f"""
hub-load, {out['date']}: {args.n} students on {cores} cores, {total / 1024:.1f} GiB
  server start         p50 {out['server_start_s']['p50']:6.1f} s   p95 {out['server_start_s']['p95']:6.1f} s
  notebook (QUICK)     p50 {out['notebook_s']['p50']:6.1f} s   p95 {out['notebook_s']['p95']:6.1f} s   ({', '.join(f"{nb} p50 {v['p50']:.1f} / p95 {v['p95']:.1f} s" for nb, v in per.items() for v in [out['notebook_s'][nb]])})
  cells                {res['tally'].ok} of {res['expected']} succeeded, {res['expected'] - res['tally'].ok} failed or never ran
  per student (peak)   Rss p50 {pct(rss, 50):5.0f} MB  p95 {pct(rss, 95):5.0f}   Pss p50 {pct(pss, 50):5.0f}  p95 {pct(pss, 95):5.0f}   anonymous p50 {pct(uss, 50):5.0f}  p95 {pct(uss, 95):5.0f}
  of which (p50)       JupyterLab server: Rss {out['per_student_peak_by_kind_mb']['server']['rss']:4.0f} Pss {out['per_student_peak_by_kind_mb']['server']['pss']:4.0f} anonymous {out['per_student_peak_by_kind_mb']['server']['uss']:4.0f};  golab kernel: Rss {out['per_student_peak_by_kind_mb']['kernels']['rss']:4.0f} Pss {out['per_student_peak_by_kind_mb']['kernels']['pss']:4.0f} anonymous {out['per_student_peak_by_kind_mb']['kernels']['uss']:4.0f};  go build (//golab:compile): Rss {out['per_student_peak_by_kind_mb']['toolchain']['rss']:4.0f} anonymous {out['per_student_peak_by_kind_mb']['toolchain']['uss']:4.0f}
  per student CPU      p50 {pct(cpu, 50):5.1f} s   p95 {cpu95:5.1f} s   (server and kernels; {cpu_how})
  host memory used     before {out['host_used_mb']['before']:6.0f} MB   peak {out['host_used_mb']['peak']:6.0f} MB   (+{out['host_used_mb']['peak_minus_before']:.0f} MB; other work on the host counts too)
  kernels at once      {res['kernels_peak']} (peak);  the hub, its proxy and services: Rss {res['hub_peak'] * mb:.0f} MB (peak)
  wall time            {out['wall_s'] or 0:.0f} s
  largest class, memory-bound: {n_mem}   {out['capacity']['memory_rule']}
  largest class, CPU-bound:    {n_cpu}   {out['capacity']['cpu_rule']}""")
    for f in res["failures"][:20]:
        print("  FAILED:", f)
    for note in sorted(res["tally"].notes)[:10]:
        print("  kernel said:", note)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30, help="students (default 30)")
    ap.add_argument("--deadline", type=float, default=0, help="seconds for the whole run (default 600 + 30 per student)")
    ap.add_argument("--cell-timeout", type=float, default=600)
    ap.add_argument("--target", type=float, default=300, help="seconds the CPU-bound class size allows for everyone's notebooks")
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--keep-log", help="copy the hub's log here")
    args = ap.parse_args()
    if args.n < 1:
        sys.exit("hub-load: N must be at least 1")
    args.deadline = args.deadline or 600 + 30 * args.n
    run = tempfile.mkdtemp(prefix="golab-hub-load-")
    env = dict(os.environ, GOLAB_HUB_RUN=run, GOLAB_HUB_PORT=str(free_port()), GOLAB_HUB_CULL="0",
               GOLAB_HUB_START_TIMEOUT=str(int(args.deadline)),
               GOLAB_HUB_PASSWORD=secrets.token_urlsafe(12), GOLAB_HUB_TOKEN=secrets.token_hex(32))
    res = {"start": {}, "notebooks": [], "failures": [], "tally": Tally(),
           "expected": args.n * sum(len(notebook_cells(nb)) for nb in NOTEBOOKS)}
    # Ctrl-C or a kill still cleans up (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    code = 1
    try:
        asyncio.run(asyncio.wait_for(main_async(args, run, env, res), args.deadline + 300))
        out = report(args, res)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(out, f, indent=1)
        code = 0 if not res["failures"] and res["tally"].ok == res["expected"] and len(res["start"]) == args.n else 1
    except (KeyboardInterrupt, asyncio.TimeoutError) as e:
        print(f"hub-load: stopped ({type(e).__name__}); cleaning up", file=sys.stderr)
    finally:
        if args.keep_log and os.path.exists(os.path.join(run, "hub.log")):
            shutil.copy(os.path.join(run, "hub.log"), args.keep_log)
        left = leftovers(run)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            print(f"hub-load: killed {len(left)} processes left behind", file=sys.stderr)
        shutil.rmtree(run, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
