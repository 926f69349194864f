"""Browser tests: golab in JupyterLab 4 and in Notebook 7, in headless
Chromium driven by Playwright.

For each front end it starts that front end's server (`jupyter lab`,
`jupyter notebook`) from this Python with QUICK=1 in its environment, throwaway
Jupyter folders holding the kernelspec given by --kernelspec, and copies of the
notebooks with their outputs cleared (the committed ones are not touched),
then, in Chromium (Debian's, --chromium; Playwright never downloads one):

1. opens 01-dataset and runs all its cells: no error, and every figure is an
   <img> that Chromium decodes with a non-zero size (at least MIN_PNG of
   run_notebooks.py);
2. opens 03-training, runs all its cells while watching the Train cell's
   output area: the live view is one output, updated in place, that ends with
   the curves; saves the notebook;
3. Tab after `model.` lists Summary; Shift-Tab after `lab.Train(` shows
   Train's signature;
4. runs a long Train: its live view stays one output while at least 3
   different curve images pass through it; the toolbar's interrupt button
   stops it within 1 s (click to the cell's end, measured in the page), and
   the next cell runs;
5. restarts the kernel with the toolbar's button: the session's variables are
   gone and a new cell runs;
6. reopens the saved 03-training as an untrusted notebook (a copy whose
   signature no longer matches, checked with the server's notary): its PNG and
   HTML outputs still show;
7. runs all cells of a small notebook of its own whose second cell fails at
   once, twice: the cells after it never run (no outputs, no execution
   count), though the front end sent their requests before the error came
   back.

Screenshots of each front end go to --shots (browser-{frontend}-01-dataset.png,
browser-{frontend}-03-training.png); a failed step saves FAILED-{frontend}-{step}.png
there and prints the end of the server's log. Each step prints one line with
its time. Exits non-zero when a check fails.
"""

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

import nbformat
from nbformat.sign import NotebookNotary
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from lab_check import Failure, Server
from run_notebooks import MIN_PNG

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.dirname(HERE)

FRONTENDS = {
    "lab": {"title": "JupyterLab", "app": "lab", "url": "/lab/tree/{}?reset",
            "args": ["--LabApp.expose_app_in_browser=True"]},
    "notebook": {"title": "Notebook 7", "app": "notebook", "url": "/notebooks/{}",
                 "args": ["--JupyterNotebookApp.expose_app_in_browser=True"]},
}

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# The cells the test adds to 03-training after running it.
LONG_TRAIN = "longRun, longErr := lab.Train(model, train, val, lab.Config{Epochs: 500, LogEvery: 1})"
AFTER_INTERRUPT = 'fmt.Println("the next cell ran:", 6*7)'
AFTER_RESTART = 'fmt.Println("after the restart:", history.Label)'
FRESH_CELL = 'fmt.Println("a new cell runs:", 6*7)'

# The notebook of step 7: a cell that fails at once, then cells that must not
# run (Run All sends them all before the error comes back).
STOP_CELLS = ['before := "ran"', 'panic("stop here")'] + [f'fmt.Println("after the failed cell: {i}")' for i in range(2, 10)]

# Helpers evaluated in each page: the notebook panel, its cells' state, and
# watchers on output areas. window.jupyterapp is there because the servers
# run with expose_app_in_browser.
PAGE_JS = r"""
() => {
  const G = window.golabTest = {};
  // The notebook panel of the page's notebook (JupyterLab may restore
  // others beside it).
  G.panel = () => {
    const app = window.jupyterapp;
    if (!app) return null;
    const isNb = (w) => w && w.content && w.content.model && w.sessionContext && w.context;
    const all = Array.from(app.shell.widgets('main')).filter(isNb);
    return all.find(w => w.context.path === G.path) || null;
  };
  G.kernel = () => {
    const p = G.panel();
    const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
    return k ? {name: k.name, status: k.status} : null;
  };
  G.ready = () => {
    const p = G.panel();
    if (!p || !p.context.isReady) return false;
    const k = G.kernel();
    return !!k && k.status === 'idle';
  };
  G.prompt = (w) => {
    const n = w.node.querySelector('.jp-InputPrompt');
    return n ? n.textContent.trim() : '';
  };
  G.state = () => {
    const p = G.panel();
    const cells = [];
    p.content.widgets.forEach((w, i) => {
      if (w.model.type !== 'code') return;
      const outs = w.model.outputs.toJSON();
      cells.push({i, count: w.model.executionCount, prompt: G.prompt(w),
                  types: outs.map(o => o.output_type),
                  errors: outs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
                  text: outs.filter(o => o.output_type === 'stream').map(o => o.text).join('')});
    });
    return {kernel: G.kernel(), cells};
  };
  G.find = (text) => G.panel().content.widgets.findIndex(w => w.model.sharedModel.getSource().includes(text));
  G.add = (source) => {
    const p = G.panel();
    const n = p.content.model.cells.length;
    p.content.model.sharedModel.insertCell(n, {cell_type: 'code', source});
    return n;
  };
  // Puts the cursor at the end of cell i's text, in edit mode.
  G.edit = (i) => {
    const nb = G.panel().content;
    nb.activeCellIndex = i;
    nb.mode = 'edit';
    const ed = nb.widgets[i].editor;
    ed.focus();
    ed.setCursorPosition(ed.getPositionAt(ed.model.sharedModel.getSource().length));
    nb.widgets[i].node.scrollIntoView({block: 'center'});
  };
  // Watches cell i's outputs: the most outputs of each kind seen at once,
  // the distinct images, and when its prompt last stopped showing [*].
  G.watch = (i) => {
    const w = G.panel().content.widgets[i];
    const rec = {maxDisplays: 0, maxOutputs: 0, images: [], doneAt: null, startedAt: null};
    const seen = new Set();
    const look = () => {
      const outs = w.model.outputs.toJSON();
      rec.maxOutputs = Math.max(rec.maxOutputs, w.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child').length);
      rec.maxDisplays = Math.max(rec.maxDisplays, outs.filter(o => o.output_type === 'display_data').length);
      w.outputArea.node.querySelectorAll('img').forEach(img => {
        const key = img.src.length + ':' + img.src.slice(-120);
        if (!seen.has(key)) { seen.add(key); rec.images.push(performance.now()); }
      });
      const running = G.prompt(w).includes('*');
      if (running && rec.startedAt === null) rec.startedAt = performance.now();
      if (!running && rec.startedAt !== null && rec.doneAt === null) rec.doneAt = performance.now();
    };
    const obs = new MutationObserver(look);
    obs.observe(w.node, {childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['src']});
    w.model.outputs.changed.connect(look);
    const timer = setInterval(look, 50);
    rec.stop = () => { obs.disconnect(); clearInterval(timer); look(); };
    G.watches = G.watches || {};
    G.watches[i] = rec;
  };
  G.watched = (i) => {
    const r = G.watches[i];
    return {maxDisplays: r.maxDisplays, maxOutputs: r.maxOutputs, images: r.images.length,
            doneAt: r.doneAt, startedAt: r.startedAt};
  };
  // Records when the toolbar's interrupt button is clicked.
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('[data-command="notebook:interrupt-kernel"]')) G.interruptAt = performance.now();
  }, true);
  G.now = () => performance.now();
  // Decodes every <img> of the outputs (cells given, or all) and reports them.
  G.images = async (cells) => {
    const p = G.panel();
    const res = [];
    for (const [i, w] of p.content.widgets.entries()) {
      if (w.model.type !== 'code' || (cells && !cells.includes(i))) continue;
      for (const img of w.outputArea.node.querySelectorAll('img')) {
        img.scrollIntoView({block: 'center'});
        let err = null;
        try { await img.decode(); } catch (e) { err = String(e); }
        res.push({cell: i, w: img.naturalWidth, h: img.naturalHeight, png: img.src.startsWith('data:image/png'), err});
      }
    }
    return res;
  };
  // The rendered HTML outputs (text/html) of the notebook.
  G.html = () => {
    const res = [];
    G.panel().content.widgets.forEach((w, i) => {
      if (w.model.type !== 'code') return;
      w.outputArea.node.querySelectorAll('[data-mime-type="text/html"]').forEach(n => res.push({cell: i, text: n.textContent.slice(0, 200), imgs: n.querySelectorAll('img').length}));
    });
    return res;
  };
  G.trusted = () => G.panel().content.widgets.filter(w => w.model.type === 'code' && w.model.outputs.length > 0).map(w => w.model.trusted);
  G.dirty = () => G.panel().context.model.dirty;
  return true;
}
"""


class Check:
    """Runs one front end's steps, printing each, with a screenshot of a failure."""

    def __init__(self, name, shots, timeout):
        self.name, self.shots, self.timeout = name, shots, timeout
        self.page = None
        self.console = []

    @contextlib.contextmanager
    def step(self, what):
        t0 = time.monotonic()
        try:
            yield
        except Exception as e:
            if self.page is not None:
                slug = "-".join("".join(ch if ch.isalnum() else " " for ch in what).split())[:60]
                path = os.path.join(self.shots, f"FAILED-{self.name}-{slug}.png")
                with contextlib.suppress(Exception):
                    self.page.screenshot(path=path)
                    print(f"browser_test [{self.name}]: screenshot of the failure: {path}")
            msg = str(e) if isinstance(e, Failure) else f"{type(e).__name__}: {e}"
            raise Failure(f"{what}: {msg}") from e
        print(f"browser_test [{self.name}] ok {time.monotonic() - t0:6.1f} s  {what}", flush=True)


def js(page, expr, *arg):
    return page.evaluate(expr, *arg) if arg else page.evaluate(expr)


def wait(page, what, fn_js, timeout, arg=None):
    """Waits until fn_js (a JS function of arg) returns a true value."""
    try:
        return page.wait_for_function(fn_js, arg=arg, timeout=timeout * 1000, polling=200).json_value()
    except PlaywrightError as e:
        if "Timeout" in str(e):
            raise Failure(f"timed out after {timeout} s waiting for {what}") from None
        raise


def open_notebook(chk, browser, base, url, path, token):
    """Opens the notebook at path in a new page and waits until its golab kernel is idle."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: chk.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    chk.page = page
    url = url.format(path)
    page.goto(f"{base}{url}{'&' if '?' in url else '?'}token={token}", wait_until="domcontentloaded", timeout=chk.timeout * 1000)
    wait(page, "window.jupyterapp (the front end's application)", "() => !!window.jupyterapp && !!window.jupyterapp.shell", chk.timeout)
    page.evaluate(PAGE_JS)
    page.evaluate("(p) => { window.golabTest.path = p; }", path)
    wait(page, "the notebook and an idle golab kernel", "() => window.golabTest.ready()", chk.timeout)
    k = js(page, "() => window.golabTest.kernel()")
    if k["name"] != "golab":
        raise Failure(f"the notebook runs kernel {k['name']!r}, want golab")
    return page


def run_all(chk, page, timeout):
    """Runs every cell and waits until they have all run; fails on a cell error."""
    js(page, "() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    done = """() => {
      const s = window.golabTest.state();
      if (s.cells.some(c => c.errors.length)) return s;
      return s.kernel && s.kernel.status === 'idle' && s.cells.every(c => c.count !== null && !c.prompt.includes('*')) ? s : null;
    }"""
    s = wait(page, "all cells to run", done, timeout)
    errs = [f"cell {c['i']}: {e}" for c in s["cells"] for e in c["errors"]]
    if errs:
        raise Failure("cells failed: " + "; ".join(errs))
    return s


def run_all_stopped(page, failing, timeout):
    """Runs every cell of a notebook whose cell `failing` fails at once and
    checks that the cells before it ran, that it failed, and that none after
    it ran: no outputs, no execution count. Returns the cells' state."""
    js(page, "() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    settled = """(f) => {
      const s = window.golabTest.state();
      const idle = s.kernel && s.kernel.status === 'idle' && s.cells.every(c => !c.prompt.includes('*'));
      return idle && s.cells[f].errors.length ? s : null;
    }"""
    wait(page, "the failing cell's error and an idle kernel", settled, timeout, arg=failing)
    time.sleep(1)  # a cell run late would show by now
    cells = js(page, "() => window.golabTest.state()")["cells"]
    bad = [f"cell {c['i']}: count {c['count']}, errors {c['errors']}" for c in cells[:failing] if c["count"] is None or c["errors"]]
    if bad:
        raise Failure("the cells before the failing one did not run cleanly: " + "; ".join(bad))
    f = cells[failing]
    if f["count"] is None or not f["errors"]:
        raise Failure(f"cell {failing} did not fail: count {f['count']}, outputs {f['types']}")
    ran = [f"cell {c['i']}: count {c['count']}, outputs {c['types']} {c['text']!r}"
           for c in cells[failing + 1:] if c["count"] is not None or c["types"]]
    if ran:
        raise Failure(f"cells after the failed cell {failing} ran: " + "; ".join(ran))
    return cells


def check_images(page, want, cells=None):
    imgs = js(page, "(c) => window.golabTest.images(c)", cells)
    bad = [i for i in imgs if i["err"] or not i["w"] or not i["h"]]
    if bad:
        raise Failure(f"images not decoded: {bad}")
    if len(imgs) < want:
        raise Failure(f"{len(imgs)} decoded images in the outputs, want at least {want}")
    return imgs


def run_cell(page, i, timeout, what):
    """Runs cell i with Shift-Enter and waits until it has run; returns its state."""
    js(page, "(i) => window.golabTest.edit(i)", i)
    page.keyboard.press("Shift+Enter")
    done = """(i) => {
      const c = window.golabTest.state().cells.find(c => c.i === i);
      const k = window.golabTest.kernel();
      return c && c.count !== null && !c.prompt.includes('*') && k && k.status === 'idle' ? c : null;
    }"""
    return wait(page, what, done, timeout, arg=i)


def screenshot(chk, page, cell_text, name):
    js(page, """(t) => { const g = window.golabTest; const i = g.find(t);
                  g.panel().content.activeCellIndex = i; g.panel().content.mode = 'command';
                  g.panel().content.widgets[i].node.scrollIntoView({block: 'start'}); }""", cell_text)
    time.sleep(0.5)  # let the scroll and the images settle
    path = os.path.join(chk.shots, f"browser-{chk.name}-{name}.png")
    page.screenshot(path=path)
    return path


def frontend(name, args, browser, tmp):
    fe = FRONTENDS[name]
    chk = Check(name, args.shots, args.timeout)
    root = os.path.join(tmp, name)
    nbdir = os.path.join(root, "notebooks")
    os.makedirs(nbdir)
    data_dir = os.path.join(root, "data")
    shutil.copytree(args.kernelspec, os.path.join(data_dir, "kernels", "golab"))
    for nb_name in ("01-dataset.ipynb", "03-training.ipynb"):
        nb = nbformat.read(os.path.join(NOTEBOOKS, nb_name), as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
        nbformat.write(nb, os.path.join(nbdir, nb_name))
    stop_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in STOP_CELLS])
    stop_nb.metadata["kernelspec"] = {"name": "golab", "display_name": "Go (golab)", "language": "go"}
    nbformat.write(stop_nb, os.path.join(nbdir, "stop-on-error.ipynb"))
    env = dict(os.environ, QUICK="1", GOLAB_RUNS=os.path.join(root, "runs"), JUPYTER_DATA_DIR=data_dir,
               JUPYTER_CONFIG_DIR=os.path.join(root, "config"),
               JUPYTERLAB_SETTINGS_DIR=os.path.join(root, "settings"),
               JUPYTERLAB_WORKSPACES_DIR=os.path.join(root, "workspaces"))
    env.pop("JUPYTER_PATH", None)
    # No news or update checks: nothing pops up over the notebook.
    note = os.path.join(env["JUPYTERLAB_SETTINGS_DIR"], "@jupyterlab", "apputils-extension")
    os.makedirs(note)
    with open(os.path.join(note, "notification.jupyterlab-settings"), "w") as f:
        json.dump({"fetchNews": "false", "checkForUpdates": False}, f)

    srv = Server(nbdir, args.timeout, app=fe["app"], env=env, args=fe["args"])
    try:
        with chk.step(f"{fe['title']}: the server answers"):
            srv.wait_ready()

        # 1. 01-dataset: run all, figures decoded.
        with chk.step("01-dataset: open it, kernel golab idle"):
            page = open_notebook(chk, browser, srv.base, fe["url"], "01-dataset.ipynb", srv.token)
        with chk.step("01-dataset: run all cells"):
            s = run_all(chk, page, args.run_timeout)
        with chk.step("01-dataset: figures are decoded images"):
            imgs = check_images(page, MIN_PNG["01-dataset"])
        with chk.step("01-dataset: screenshot"):
            shot1 = screenshot(chk, page, "viz.ShowImages(data.Train, picks...)", "01-dataset")
        print(f"browser_test [{name}]: 01-dataset: {len(s['cells'])} code cells ran; images "
              + ", ".join(f"{i['w']}x{i['h']}" for i in imgs) + f"; {shot1}")
        page.close()

        # 2. 03-training: run all while watching the live view.
        with chk.step("03-training: open it, kernel golab idle"):
            page = open_notebook(chk, browser, srv.base, fe["url"], "03-training.ipynb", srv.token)
        train_cell = js(page, "(t) => window.golabTest.find(t)", "lab.Train(model, train, val, cfg)")
        if train_cell < 0:
            raise Failure("03-training has no cell with lab.Train(model, train, val, cfg)")
        js(page, "(i) => window.golabTest.watch(i)", train_cell)
        with chk.step("03-training: run all cells"):
            run_all(chk, page, args.run_timeout)
        with chk.step("03-training: the live view is one output, ending with the curves"):
            w = js(page, "(i) => { window.golabTest.watches[i].stop(); return window.golabTest.watched(i); }", train_cell)
            st = js(page, "() => window.golabTest.state()")
            types = next(c["types"] for c in st["cells"] if c["i"] == train_cell)
            if w["maxOutputs"] != 1 or types != ["display_data"]:
                raise Failure(f"the Train cell showed up to {w['maxOutputs']} outputs at once and ends with {types}; want one display_data")
            check_images(page, 1, [train_cell])
        with chk.step("03-training: figures are decoded images"):
            check_images(page, MIN_PNG["03-training"])
        with chk.step("03-training: save"):
            page.keyboard.press("Escape")
            js(page, "() => window.jupyterapp.commands.execute('docmanager:save')")
            wait(page, "the notebook to be saved", "() => !window.golabTest.dirty()", args.timeout)
        with chk.step("03-training: screenshot"):
            shot3 = screenshot(chk, page, "lab.Train(model, train, val, cfg)", "03-training")
        print(f"browser_test [{name}]: 03-training: the live view updated in place ({w['images']} images); {shot3}")

        # 3. Completion and tooltip.
        with chk.step("Tab after model. lists Summary"):
            i = js(page, "(s) => window.golabTest.add(s)", "model.")
            js(page, "(i) => window.golabTest.edit(i)", i)
            page.keyboard.press("Tab")
            # The list renders its items as it scrolls: scroll it to the end
            # until Summary shows or no new item comes.
            items = wait(page, "the completer", """() => {
                const c = document.querySelector('.jp-Completer');
                if (!c || c.classList.contains('lm-mod-hidden')) return null;
                const list = c.querySelector('.jp-Completer-list') || c;
                const names = () => Array.from(c.querySelectorAll('.jp-Completer-item')).map(e => e.getAttribute('data-value') || e.textContent.trim());
                const seen = window.golabTest.completions = window.golabTest.completions || new Set();
                const before = seen.size;
                names().forEach(n => seen.add(n));
                list.scrollTop = list.scrollHeight;
                if (seen.size && (seen.has('Summary') || seen.size === before)) return Array.from(seen);
                return null; }""", args.timeout)
            if "Summary" not in items:
                raise Failure(f"the completer lists {items}, not Summary")
            page.keyboard.press("Escape")
        print(f"browser_test [{name}]: model. ⇥ lists {len(items)} names: {', '.join(items[:8])}{', …' if len(items) > 8 else ''}")
        with chk.step("Shift-Tab after lab.Train( shows its signature"):
            i = js(page, "(s) => window.golabTest.add(s)", "lab.Train(")
            js(page, "(i) => window.golabTest.edit(i)", i)
            page.keyboard.press("Shift+Tab")
            tip = wait(page, "the tooltip", """() => {
                const t = document.querySelector('.jp-Tooltip');
                return t && t.textContent.includes('Train(') ? t.textContent : null; }""", args.timeout)
            if "func Train(" not in tip or "*History" not in tip:
                raise Failure(f"the tooltip does not show Train's signature: {tip[:300]!r}")
            page.keyboard.press("Escape")
        print(f"browser_test [{name}]: lab.Train( ⇧⇥ shows: {tip.strip().splitlines()[0][:120]}")

        # 4. A long Train: the live view in place, then the interrupt button.
        with chk.step("a long Train: one live output, at least 3 different images"):
            long_cell = js(page, "(s) => window.golabTest.add(s)", LONG_TRAIN)
            next_cell = js(page, "(s) => window.golabTest.add(s)", AFTER_INTERRUPT)
            js(page, "(i) => window.golabTest.watch(i)", long_cell)
            js(page, "(i) => window.golabTest.edit(i)", long_cell)
            page.keyboard.press("Control+Enter")
            w = wait(page, "3 different images in the live view", """(i) => {
                const w = window.golabTest.watched(i);
                return w.images >= 3 || w.maxDisplays > 1 || w.doneAt !== null ? w : null; }""", args.run_timeout, arg=long_cell)
            if w["maxDisplays"] > 1 or w["maxOutputs"] > 1:
                raise Failure(f"the live view is not one output: up to {w['maxDisplays']} displays, {w['maxOutputs']} outputs")
            if w["doneAt"] is not None:
                raise Failure(f"the long Train ended by itself after {w['images']} images")
        with chk.step("the toolbar's interrupt button stops it within 1 s"):
            page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').first.click()
            wait(page, "the Train cell to stop", "(i) => window.golabTest.watched(i).doneAt !== null", args.timeout, arg=long_cell)
            w = js(page, "(i) => { window.golabTest.watches[i].stop(); return Object.assign(window.golabTest.watched(i), {clickAt: window.golabTest.interruptAt}); }", long_cell)
            if w["clickAt"] is None:
                raise Failure("the interrupt button's click was not seen")
            took = (w["doneAt"] - w["clickAt"]) / 1000
            if took > 1.0 or took < 0:
                raise Failure(f"the cell stopped {took:.2f} s after the click, want within 1 s")
            st = next(c for c in js(page, "() => window.golabTest.state()")["cells"] if c["i"] == long_cell)
            if st["types"].count("display_data") != 1 or w["maxDisplays"] != 1:
                raise Failure(f"after the interrupt the cell holds {st['types']}; want the one live view")
            check_images(page, 1, [long_cell])
        print(f"browser_test [{name}]: interrupted {took * 1000:.0f} ms after the click; the live view showed "
              f"{w['images']} different images in one output; the cell ends with {st['types']} ({'; '.join(st['errors'])})")
        with chk.step("the next cell runs after the interrupt"):
            c = run_cell(page, next_cell, args.timeout, "the next cell")
            if "the next cell ran: 42" not in c["text"]:
                raise Failure(f"the next cell printed {c['text']!r} {c['errors']}")

        # 5. Restart with the toolbar's button.
        with chk.step("restart the kernel with the toolbar's button"):
            page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:restart-kernel"]').first.click()
            page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=args.timeout * 1000)
            wait(page, "the kernel to restart", """() => {
                const s = window.golabTest.state();
                return s.kernel && s.kernel.status === 'idle' && !document.querySelector('.jp-Dialog'); }""", args.timeout)
            i = js(page, "(s) => window.golabTest.add(s)", AFTER_RESTART)
            c = run_cell(page, i, args.timeout, "a cell after the restart")
            if not any("undefined: history" in e for e in c["errors"]):
                raise Failure(f"after the restart `history` should be undefined; the cell gave {c['text']!r} {c['errors']}")
            i = js(page, "(s) => window.golabTest.add(s)", FRESH_CELL)
            c = run_cell(page, i, args.timeout, "a new cell after the restart")
            if "a new cell runs: 42" not in c["text"]:
                raise Failure(f"a new cell after the restart printed {c['text']!r} {c['errors']}")
        page.close()

        # 6. The saved 03-training, reopened untrusted.
        with chk.step("the saved 03-training, reopened untrusted, shows its PNG and HTML outputs"):
            notary = NotebookNotary(data_dir=data_dir)
            saved = nbformat.read(os.path.join(nbdir, "03-training.ipynb"), as_version=4)
            if not notary.check_signature(saved):
                raise Failure("the notebook the server saved is not signed as trusted")
            saved.metadata["golab_browser_test"] = "a copy: its signature no longer matches, so it opens untrusted"
            nbformat.write(saved, os.path.join(nbdir, "03-untrusted.ipynb"))
            if notary.check_signature(nbformat.read(os.path.join(nbdir, "03-untrusted.ipynb"), as_version=4)):
                raise Failure("the modified copy is still trusted")
            page = open_notebook(chk, browser, srv.base, fe["url"], "03-untrusted.ipynb", srv.token)
            trusted = js(page, "() => window.golabTest.trusted()")
            if not trusted or any(trusted):
                raise Failure(f"the copy's cells are not all untrusted in the page: {trusted}")
            imgs = check_images(page, MIN_PNG["03-training"])
            if not all(i["png"] for i in imgs):
                raise Failure(f"not all images are PNG data: {imgs}")
            html = js(page, "() => window.golabTest.html()")
            live = [h for h in html if h["imgs"] and "epoch" in h["text"]]
            if not live:
                raise Failure(f"no rendered HTML output with the live view's summary and curves: {html}")
        print(f"browser_test [{name}]: untrusted copy: {len(trusted)} cells with outputs, none trusted; "
              f"{len(imgs)} PNG images decoded, {len(html)} HTML outputs rendered ({live[0]['text'][:70]!r}…)")
        page.close()

        # 7. Run All stops at a cell that fails at once.
        with chk.step("stop-on-error: open it, kernel golab idle"):
            page = open_notebook(chk, browser, srv.base, fe["url"], "stop-on-error.ipynb", srv.token)
        for attempt in (1, 2):
            with chk.step(f"stop-on-error: run all ({attempt}), the cells after the failed one never run"):
                cells = run_all_stopped(page, 1, args.timeout)
        print(f"browser_test [{name}]: stop-on-error: cell 1 failed ({cells[1]['errors'][0]}); "
              f"cells 2-{len(cells) - 1} not run (no outputs, no execution count)")
        page.close()
        chk.page = None
    except Failure:
        tail = srv.log_tail(30)
        if tail:
            print(f"browser_test [{name}]: the end of the server's log:\n{tail}")
        if chk.console:
            print(f"browser_test [{name}]: console errors in the page:\n  " + "\n  ".join(chk.console[-10:]))
        raise
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernelspec", required=True, help="folder of the golab kernelspec (holds kernel.json)")
    ap.add_argument("--frontends", default="lab,notebook", help="comma-separated: lab, notebook")
    ap.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium to drive")
    ap.add_argument("--shots", default=os.path.join(NOTEBOOKS, ".executed", "browser"), help="folder for the screenshots")
    ap.add_argument("--timeout", type=int, default=120, help="seconds to wait for a page, a kernel, a cell")
    ap.add_argument("--run-timeout", type=int, default=600, help="seconds to wait for a notebook's cells")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    names = [n.strip() for n in args.frontends.split(",") if n.strip()]
    for n in names:
        if n not in FRONTENDS:
            sys.exit(f"browser_test: unknown front end {n!r}; choose from {', '.join(FRONTENDS)}")
    if not os.access(args.chromium, os.X_OK):
        sys.exit(f"browser_test: no Chromium at {args.chromium}: install it (apt install chromium) or pass --chromium")
    os.makedirs(args.shots, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="golab-browser-")
    failed = []
    t0 = time.monotonic()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, timeout=args.timeout * 1000)
            print(f"browser_test: Chromium {browser.version} (Playwright, {args.chromium}); QUICK=1")
            try:
                for n in names:
                    try:
                        frontend(n, args, browser, tmp)
                    except Failure as e:
                        print(f"browser_test [{n}]: FAIL: {e}", file=sys.stderr)
                        failed.append(n)
                    except Exception:  # a bug in the test itself: say where
                        traceback.print_exc()
                        failed.append(n)
            finally:
                browser.close()
    finally:
        if args.keep:
            print(f"browser_test: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - t0
    if failed:
        print(f"browser_test: FAIL on {', '.join(FRONTENDS[n]['title'] for n in failed)} ({took:.0f} s)", file=sys.stderr)
        return 1
    print(f"browser_test: PASS on {', '.join(FRONTENDS[n]['title'] for n in names)} ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
