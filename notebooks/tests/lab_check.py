"""make lab LAB_CHECK=1: start JupyterLab as `make lab` does, without a
browser, and check that it works, then stop it.

1. Starts JupyterLab from this Python (python -m jupyterlab) on a free port (port 0) with a random
   token, serving --notebook-dir, with a runtime folder of its own.
2. Checks that /lab serves the JupyterLab page (name and version from its
   page config) and its main script, and that the server lists the notebooks.
3. Checks that the server finds the golab kernelspec and that it runs
   --kernel (an older kernelspec earlier on Jupyter's path would hide it).
4. Opens a session on the first notebook through the REST API (the kernel
   starts as it does for a notebook the user opens), connects to the kernel's
   websocket, runs a cell and checks its output.
5. Deletes the session and shuts the server down.

Each step prints one line; the last says what is served. Exits non-zero with
the reason and the end of the server's log when a check fails.
"""

import argparse
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import websocket
from jupyter_client.kernelspec import KernelSpecManager

CELL = 'import "runtime"\nimport "golab/lab"\nfmt.Println("golab kernel:", runtime.Version(), "on", lab.Engine())'


class Failure(Exception):
    pass


def say(msg):
    print(f"lab-check: {msg}", flush=True)


class Server:
    """A Jupyter server (`jupyter APP`) of this Python on a free port, with a
    random token and a runtime folder of its own; env and args add to it."""

    def __init__(self, notebook_dir, timeout, app="lab", env=None, args=()):
        self.tmp = tempfile.mkdtemp(prefix=f"golab-{app}-server-")
        self.token = secrets.token_hex(16)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.timeout = timeout
        env = dict(os.environ if env is None else env, JUPYTER_RUNTIME_DIR=os.path.join(self.tmp, "runtime"))
        # The app's module, not `python -m jupyter APP`, which runs the first
        # jupyter-APP on PATH, maybe another Python's.
        module = {"lab": "jupyterlab", "notebook": "notebook"}[app]
        cmd = [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1", "--port=0",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={os.path.abspath(notebook_dir)}", *args]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.runtime = env["JUPYTER_RUNTIME_DIR"]
        self.base = None

    def wait_ready(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"the Jupyter server exited with status {self.proc.returncode} before serving")
            for f in glob.glob(os.path.join(self.runtime, "jpserver-*.json")):
                try:
                    info = json.load(open(f))
                except (OSError, ValueError):
                    continue  # being written
                self.base = f"http://127.0.0.1:{info['port']}"
                try:
                    return self.get("/api/status"), info
                except Failure:
                    pass
            time.sleep(0.2)
        raise Failure(f"the Jupyter server did not answer within {self.timeout} s")

    def request(self, method, path, body=None, raw=False, timeout=60):
        sep = "&" if "?" in path else "?"
        url = f"{self.base}{path}{sep}token={self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = r.read()
        except urllib.error.HTTPError as e:
            raise Failure(f"{method} {path}: HTTP {e.code}: {e.read()[:300]!r}") from None
        except OSError as e:
            raise Failure(f"{method} {path}: {e}") from None
        if raw:
            return out.decode("utf-8", "replace")
        return json.loads(out) if out else None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def stop(self):
        if self.proc.poll() is None and self.base:
            try:
                self.request("POST", "/api/shutdown", timeout=10)
            except Failure:
                pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n=25):
        try:
            return "".join(open(self.log_path).readlines()[-n:])
        except OSError:
            return ""


def check_page(srv):
    html = srv.get("/lab", raw=True)
    m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    if not m:
        raise Failure("/lab does not hold JupyterLab's page config (jupyter-config-data)")
    cfg = json.loads(m.group(1))
    name, version = cfg.get("appName"), cfg.get("appVersion", "")
    if name != "JupyterLab" or not version.startswith("4."):
        raise Failure(f"/lab serves {name} {version}, want JupyterLab 4")
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    if not scripts:
        raise Failure("the /lab page loads no script")
    src = scripts[-1]
    path = src if src.startswith("/") else "/" + src
    js = srv.get(path.split("?")[0], raw=True)
    if len(js) < 1000:
        raise Failure(f"the page's script {path} is only {len(js)} bytes")
    return name, version


def check_contents(srv):
    listing = srv.get("/api/contents/")
    notebooks = sorted(c["name"] for c in listing.get("content", []) if c.get("type") == "notebook")
    if not notebooks:
        raise Failure("the server lists no notebook in its root folder")
    return notebooks


def check_kernelspec(srv, kernel_bin):
    specs = srv.get("/api/kernelspecs").get("kernelspecs", {})
    if "golab" not in specs:
        raise Failure(f"the server has no golab kernelspec (it has {sorted(specs)}); run make kernel")
    argv = specs["golab"]["spec"].get("argv", [])
    if kernel_bin and (not argv or os.path.realpath(argv[0]) != os.path.realpath(kernel_bin)):
        where = KernelSpecManager().find_kernel_specs().get("golab")
        raise Failure(f"the golab kernelspec the server uses ({where}) runs {argv[:1]}, not {kernel_bin}: "
                      "an older kernelspec hides the one make kernel installed; remove it "
                      "(jupyter kernelspec remove golab) or install over it with make kernel KERNEL_PREFIX=user")
    where = KernelSpecManager().find_kernel_specs().get("golab", "?")
    return specs["golab"]["spec"].get("display_name", "golab"), where


def warn_hidden_spec(kernel_bin):
    """Warns when the golab kernelspec Jupyter finds first does not run kernel_bin."""
    ksm = KernelSpecManager()
    where = ksm.find_kernel_specs().get("golab")
    argv = ksm.get_kernel_spec("golab").argv if where else []
    if not argv or os.path.realpath(argv[0]) != os.path.realpath(kernel_bin):
        print(f"make kernel: warning: Jupyter finds the golab kernelspec in {where}, which runs {argv[:1]}, "
              f"before the one just installed (it runs {kernel_bin}). Remove it (jupyter kernelspec remove golab) "
              "or install over it with make kernel KERNEL_PREFIX=user.", file=sys.stderr)
    return 0


def message(msg_type, content, session):
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "lab-check",
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"},
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": [],
    }


def run_cell(srv, kernel_id, code, timeout):
    """Runs code through the kernel's websocket; returns (status, stdout)."""
    url = srv.base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels?token={srv.token}"
    ws = websocket.create_connection(url, timeout=timeout)
    session = uuid.uuid4().hex
    try:
        # The kernel may still be starting: ask for kernel_info until it answers.
        info = message("kernel_info_request", {}, session)
        ws.send(json.dumps(info))
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise Failure(f"no kernel_info_reply within {timeout} s")
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") == info["header"]["msg_id"] and m["msg_type"] == "kernel_info_reply":
                break
        req = message("execute_request", {"code": code, "silent": False, "store_history": True,
                                          "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}, session)
        ws.send(json.dumps(req))
        out, status, idle = [], None, False
        while status is None or not idle:
            if time.monotonic() > deadline:
                raise Failure(f"the cell did not finish within {timeout} s (output so far: {''.join(out)!r})")
            m = json.loads(ws.recv())
            if m.get("parent_header", {}).get("msg_id") != req["header"]["msg_id"]:
                continue
            t, c = m["msg_type"], m["content"]
            if t == "stream":
                out.append(c["text"])
            elif t == "error":
                out.append(f"{c['ename']}: {c['evalue']}")
            elif t == "execute_reply":
                status = c["status"]
            elif t == "status" and c["execution_state"] == "idle":
                idle = True
        return status, "".join(out)
    finally:
        ws.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebook-dir", default="notebooks")
    ap.add_argument("--kernel", default="", help="the kernel binary the golab kernelspec must run")
    ap.add_argument("--timeout", type=int, default=120, help="seconds to wait for each step")
    ap.add_argument("--spec-only", action="store_true",
                    help="only warn, without starting a server, when the golab kernelspec Jupyter finds does not run --kernel")
    args = ap.parse_args()
    if args.spec_only:
        return warn_hidden_spec(args.kernel)

    start = time.monotonic()
    srv = Server(args.notebook_dir, args.timeout)
    ok = False
    try:
        status, info = srv.wait_ready()
        say(f"JupyterLab (Jupyter Server {info.get('version')}) answers on 127.0.0.1:{info['port']}, "
            f"root {info.get('root_dir')}, after {time.monotonic() - start:.1f} s")
        name, version = check_page(srv)
        say(f"/lab serves {name} {version} and its scripts")
        notebooks = check_contents(srv)
        say(f"{len(notebooks)} notebooks: {', '.join(notebooks)}")
        display, where = check_kernelspec(srv, args.kernel)
        say(f"kernelspec golab ({display}) in {where} runs {args.kernel or 'the golab kernel'}")
        t0 = time.monotonic()
        sess = srv.request("POST", "/api/sessions", {"path": notebooks[0], "type": "notebook", "name": notebooks[0],
                                                     "kernel": {"name": "golab"}})
        kernel_id = sess["kernel"]["id"]
        try:
            status, out = run_cell(srv, kernel_id, CELL, args.timeout)
        finally:
            srv.request("DELETE", f"/api/sessions/{sess['id']}")
        if status != "ok" or "golab kernel:" not in out:
            raise Failure(f"the cell ended with status {status!r} and printed {out!r}")
        say(f"a golab kernel for {notebooks[0]} ran a cell over the websocket in {time.monotonic() - t0:.1f} s: {out.strip()}")
        ok = True
    except Failure as e:
        print(f"lab-check: FAIL: {e}", file=sys.stderr)
        tail = srv.log_tail()
        if tail:
            print("lab-check: the end of the server's log:\n" + tail, file=sys.stderr)
    finally:
        srv.stop()
    if not ok:
        return 1
    say(f"OK: JupyterLab {version} serves {os.path.abspath(args.notebook_dir)} with the golab kernel "
        f"({time.monotonic() - start:.1f} s); the server is stopped. `make lab` opens it in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
