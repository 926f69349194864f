"""Log a test user into a running golab hub with headless Chromium, open
01-dataset.ipynb in JupyterLab, run its first cells in the golab kernel and
take a screenshot (make hub-screenshot).

    python deploy/hub_screenshot.py URL PASSWORD OUT.png [--user NAME]

Needs Playwright from PyPI (deploy/requirements-screenshot.txt) and Debian's
/usr/bin/chromium; it never downloads a browser.
"""

import argparse
import sys
import time

from playwright.sync_api import sync_playwright


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("password")
    ap.add_argument("out")
    ap.add_argument("--user", default="student1")
    a = ap.parse_args()
    base = a.url.rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/hub/login")
        page.fill("#username_input", a.user)
        page.fill("#password_input", a.password)
        page.click("#login_submit")
        # The spawn page, then JupyterLab.
        page.wait_for_url(f"**/user/{a.user}/lab**", timeout=180_000)
        page.goto(f"{base}/user/{a.user}/lab/tree/01-dataset.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        # The kernel indicator names the golab kernel once it has started.
        page.wait_for_selector(".jp-Toolbar-kernelName:has-text('Go (golab)')", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        for label in ("No",):  # JupyterLab's "news?" toast
            toast = page.locator(".jp-toast-button", has_text=label)
            if toast.count():
                toast.first.click()
        # Clear the outputs the notebook was committed with, then run it all:
        # what shows afterwards is this kernel's.
        page.click("text=Edit")
        page.click("text=Clear Outputs of All Cells")
        page.click("text=Run")
        page.click("text=Run All Cells")
        time.sleep(2)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
        # JupyterLab renders only the cells in view: check the end, then go
        # back up to the cell that loads the data.
        text = page.inner_text(".jp-Notebook")
        if "Validation size: 1000" not in text:
            sys.exit("the notebook did not run to its end:\n" + text[-3000:])
        page.locator(".jp-WindowedPanel-outer").first.evaluate("e => { e.scrollTop = 0; }")
        time.sleep(1)
        cell = page.locator(".jp-CodeCell", has_text="lab.LoadCIFAR").first
        cell.scroll_into_view_if_needed()
        time.sleep(1)
        page.locator(".jp-WindowedPanel-outer").first.evaluate("e => { e.scrollTop = Math.max(0, e.scrollTop - 250); }")
        time.sleep(1)
        text = cell.inner_text()
        for want in ("Pixels mapped read-only", "50000 training images"):
            if want not in text:
                sys.exit(f"the LoadCIFAR cell did not print {want!r}:\n" + text)
        page.screenshot(path=a.out)
        browser.close()
    print("screenshot:", a.out)


if __name__ == "__main__":
    main()
