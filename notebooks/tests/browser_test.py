#!/usr/bin/python3
"""Browser test: run a notebook's image cell in the classic Jupyter Notebook,
in headless Chromium, and check that the page shows the PNG.

1. Starts the Notebook server (Debian's python3-notebook) on 127.0.0.1 with a
   random token, with temporary Jupyter data, config and runtime folders in
   which the kernelspec given by --kernelspec is installed, and a temporary
   copy of the notebook (outputs cleared; the committed one is not touched).
2. Opens the notebook in headless Chromium, driven by chromedriver over plain
   WebDriver HTTP.
3. Runs the cells up to the first one whose code contains --cell, waits for
   them, and checks that this cell's output holds an <img> whose src is PNG
   data of the expected size (--size, WxH), shown at that size, and that no
   cell failed.
4. Saves a screenshot (--screenshot) and stops Chromium and the server.

Run it with /usr/bin/python3. It prints what it checks and exits non-zero
when a check fails.
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import nbformat

CHROME_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000", "--hide-scrollbars",
]


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            msg = json.loads(raw).get("value", {}).get("message", raw[:300])
        except ValueError:
            msg = raw[:300]
        raise Failure(f"{method} {url}: HTTP {e.code}: {msg}") from None
    return json.loads(raw) if raw else None


def wait_for(what, fn, timeout, every=0.5):
    """Calls fn until it returns a true value, and returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (Failure, OSError) as e:
            last = e
        time.sleep(every)
    raise Failure(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last})" if last else ""))


def png_size(data):
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


class WebDriver:
    """The few WebDriver commands the test needs."""

    def __init__(self, port, user_data_dir):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": CHROME_ARGS + [f"--user-data-dir={user_data_dir}"]},
        }}}
        self.sid = http("POST", self.base + "/session", caps, timeout=60)["value"]["sessionId"]

    def cmd(self, method, path, body=None, timeout=60):
        return http(method, f"{self.base}/session/{self.sid}{path}", body, timeout)["value"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self):
        return base64.b64decode(self.cmd("GET", "/screenshot"))

    def quit(self):
        try:
            http("DELETE", f"{self.base}/session/{self.sid}", timeout=15)
        except (Failure, OSError):
            pass


def stop(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print(f"browser_test: {name} did not stop on SIGTERM; killing it")
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebook", required=True, help="the notebook to open")
    ap.add_argument("--kernelspec", required=True, help="folder of the kernelspec to install (holds kernel.json)")
    ap.add_argument("--cell", required=True, help="text that identifies the cell that shows images")
    ap.add_argument("--size", required=True, help="expected PNG size, WxH")
    ap.add_argument("--screenshot", required=True, help="where to save the screenshot (PNG)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds to wait for the cells")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    want_w, want_h = (int(v) for v in args.size.lower().split("x"))

    tmp = tempfile.mkdtemp(prefix="golab-browser-")
    server = driver_proc = wd = None
    logf = open(os.path.join(tmp, "server.log"), "w")
    try:
        # Jupyter folders of our own, with the kernelspec installed in them.
        data_dir = os.path.join(tmp, "data")
        spec = json.load(open(os.path.join(args.kernelspec, "kernel.json")))
        spec_name = os.path.basename(os.path.normpath(args.kernelspec))
        shutil.copytree(args.kernelspec, os.path.join(data_dir, "kernels", spec_name))
        nb_dir = os.path.join(tmp, "notebooks")
        os.makedirs(nb_dir)
        nb = nbformat.read(args.notebook, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
        nb.metadata["kernelspec"] = {"name": spec_name, "display_name": spec.get("display_name", spec_name),
                                     "language": spec.get("language", "")}
        nb_name = os.path.basename(args.notebook)
        nbformat.write(nb, os.path.join(nb_dir, nb_name))
        env = dict(os.environ, JUPYTER_DATA_DIR=data_dir, JUPYTER_CONFIG_DIR=os.path.join(tmp, "config"),
                   JUPYTER_RUNTIME_DIR=os.path.join(tmp, "runtime"), QUICK="1")
        env.pop("JUPYTER_PATH", None)

        token = secrets.token_hex(16)
        port = free_port()
        server = subprocess.Popen(
            ["/usr/bin/python3", "-m", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", "--NotebookApp.port_retries=0", f"--NotebookApp.token={token}",
             f"--notebook-dir={nb_dir}"],
            env=env, stdout=logf, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        wait_for("the Notebook server", lambda: server.poll() is None and http("GET", f"{base}/api/status?token={token}"), 60)
        specs = http("GET", f"{base}/api/kernelspecs?token={token}")
        if spec_name not in specs.get("kernelspecs", {}):
            raise Failure(f"the server does not list the kernelspec {spec_name!r}: {sorted(specs.get('kernelspecs', {}))}")
        print(f"browser_test: Notebook server on 127.0.0.1:{port}, kernelspec {spec_name!r} found")

        dport = free_port()
        driver_proc = subprocess.Popen(["/usr/bin/chromedriver", f"--port={dport}"],
                                       stdout=logf, stderr=subprocess.STDOUT)
        wait_for("chromedriver", lambda: http("GET", f"http://127.0.0.1:{dport}/status")["value"]["ready"], 30)
        wd = WebDriver(dport, os.path.join(tmp, "chromium-profile"))

        wd.go(f"{base}/notebooks/{nb_name}?token={token}")
        kernel = wait_for("the notebook page and its kernel", lambda: wd.js(
            "var n = window.Jupyter && Jupyter.notebook;"
            "return n && n._fully_loaded && n.kernel && n.kernel.is_connected() ? n.kernel.name : null;"), 120)
        if kernel != spec_name:
            raise Failure(f"the page started kernel {kernel!r}, want {spec_name!r}")
        idx = wd.js("var cs = Jupyter.notebook.get_cells();"
                    "for (var i = 0; i < cs.length; i++) if (cs[i].cell_type == 'code' && cs[i].get_text().indexOf(arguments[0]) >= 0) return i;"
                    "return -1;", args.cell)
        if idx < 0:
            raise Failure(f"no code cell contains {args.cell!r}")
        cells = wd.js("var r = []; var cs = Jupyter.notebook.get_cells();"
                      "for (var i = 0; i <= arguments[0]; i++) if (cs[i].cell_type == 'code') r.push(i); return r;", idx)
        print(f"browser_test: kernel {kernel!r} connected; running cells {cells} (the image cell is {idx})")
        wd.js("Jupyter.notebook.execute_cells(arguments[0]);", cells)

        # Done when every cell has an execution count and the kernel is idle.
        state = ("var cs = Jupyter.notebook.get_cells(); var done = true, errs = [];"
                 "arguments[0].forEach(function(i) { var c = cs[i];"
                 "  if (typeof c.input_prompt_number !== 'number') done = false;"
                 "  c.output_area.outputs.forEach(function(o) { if (o.output_type == 'error') errs.push(i + ': ' + o.ename + ': ' + o.evalue); });"
                 "});"
                 "return {done: done && !Jupyter.notebook.kernel_busy, errors: errs};")
        st = wait_for("the cells to run", lambda: (lambda s: s if s["done"] or s["errors"] else None)(wd.js(state, cells)),
                      args.timeout)
        if st["errors"]:
            raise Failure("cells failed: " + "; ".join(st["errors"]))

        try:
            img = wait_for("an <img> in the image cell's output", lambda: wd.js(
            "var img = Jupyter.notebook.get_cell(arguments[0]).output_area.element[0].querySelector('img');"
            "if (!img || !img.complete || !img.naturalWidth) return null;"
            "img.scrollIntoView({block: 'center'});"
            "var r = img.getBoundingClientRect();"
            "return {src: img.getAttribute('src'), w: img.naturalWidth, h: img.naturalHeight, shownW: r.width, shownH: r.height};",
            idx), 30)
        except Failure as e:
            # Say what the cell shows instead: the MIME types it got, and
            # whether the page drew them as SVG.
            seen = wd.js("var c = Jupyter.notebook.get_cell(arguments[0]);"
                         "var types = c.output_area.outputs.map(function(o) { return Object.keys(o.data || {}).join('+') || o.output_type; });"
                         "return {types: types, svg: c.output_area.element[0].querySelectorAll('svg').length};", idx)
            raise Failure(f"{e}; the cell's outputs carry {seen['types']}, drawn as {seen['svg']} <svg> element(s)") from None
        prefix = "data:image/png;base64,"
        if not img["src"].startswith(prefix):
            raise Failure(f"the <img> src is not PNG data: {img['src'][:60]!r}")
        size = png_size(base64.b64decode(img["src"][len(prefix):]))
        if size is None:
            raise Failure("the <img> data is not a PNG")
        print(f"browser_test: <img> with PNG data {size[0]}x{size[1]}, decoded by Chromium as "
              f"{img['w']}x{img['h']}, shown at {img['shownW']:.0f}x{img['shownH']:.0f}")
        if size != (want_w, want_h) or (img["w"], img["h"]) != (want_w, want_h):
            raise Failure(f"the image is {size[0]}x{size[1]} (decoded {img['w']}x{img['h']}), want {want_w}x{want_h}")
        if round(img["shownW"]) != want_w:
            raise Failure(f"the image is shown {img['shownW']:.0f} pixels wide, want {want_w} (scaled by the page?)")

        time.sleep(0.5)  # let the scroll settle before the screenshot
        shot = wd.screenshot()
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        with open(args.screenshot, "wb") as f:
            f.write(shot)
        print(f"browser_test: screenshot saved to {args.screenshot}")
        print("browser_test: PASS")
    except Failure as e:
        print(f"browser_test: FAIL: {e}", file=sys.stderr)
        if wd is not None:
            try:
                path = os.path.join(tmp, "failure.png")
                with open(path, "wb") as f:
                    f.write(wd.screenshot())
                print(f"browser_test: screenshot of the failure: {path}", file=sys.stderr)
                args.keep = True
            except (Failure, OSError):
                pass
        return 1
    finally:
        if wd is not None:
            wd.quit()
        stop(driver_proc, "chromedriver")
        stop(server, "the Notebook server")
        logf.close()
        if args.keep:
            print(f"browser_test: kept {tmp} (server.log, profile)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
