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
        text = page.inner_text(".jp-Notebook")
        for want in ("Pixels mapped read-only", "50000 training images", "Validation size: 1000"):
            if want not in text:
                sys.exit(f"the notebook did not print {want!r}:\n" + text[:3000])
        cell = page.locator(".jp-CodeCell", has_text="lab.LoadCIFAR").first
        cell.scroll_into_view_if_needed()
        page.evaluate("() => document.querySelector('.jp-WindowedPanel-outer') && 0")
        time.sleep(1)
        page.screenshot(path=a.out)
        browser.close()
    print("screenshot:", a.out)


if __name__ == "__main__":
    main()
