"""Runs the student notebooks of kernel/testdata (student_*.ipynb) headless
through nbclient on the golab kernel and checks every code cell against the
expectations in its metadata ("golab"): its result text, stdout, MIME types,
or the error it must end with (name, text, line). A cell without
expectations must run without error. Needs the kernelspec installed (make
test-kernel installs it into a throwaway JUPYTER_DATA_DIR); runs with any
Python that has nbclient and nbformat."""

import glob
import os
import unittest

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = sorted(glob.glob(os.path.join(HERE, "..", "testdata", "student_*.ipynb")))


def cell_outputs(cell):
    """Returns (result text, stdout, stderr, MIME types, error output)."""
    result, stdout, stderr, mimes, error = None, "", "", set(), None
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            if out["name"] == "stdout":
                stdout += out["text"]
            else:
                stderr += out["text"]
        elif kind == "execute_result":
            result = out["data"].get("text/plain", "")
            mimes.update(out["data"].keys())
        elif kind == "display_data":
            mimes.update(out["data"].keys())
        elif kind == "error":
            error = out
    return result, stdout, stderr, mimes, error


def check_cell(cell):
    """Returns what is wrong with an executed cell, or None."""
    expect = cell.get("metadata", {}).get("golab", {})
    result, stdout, _, mimes, error = cell_outputs(cell)
    want_error = expect.get("error")
    if want_error:
        if error is None:
            return f"want {want_error['ename']}, got no error"
        if error["ename"] != want_error["ename"] or want_error.get("evalue_contains", "") not in error["evalue"]:
            return f"want {want_error['ename']} containing {want_error.get('evalue_contains')!r}, got {error['ename']}: {error['evalue']}"
        line = want_error.get("line")
        if line and not error["evalue"].startswith(f"{line}:"):
            return f"want the error at line {line}, got {error['evalue']}"
        if "stdout" in expect and stdout != expect["stdout"]:
            return f"stdout {stdout!r}, want {expect['stdout']!r}"
        return None
    if error is not None:
        return f"{error['ename']}: {error['evalue']}"
    if "result" in expect and result != expect["result"]:
        return f"result {result!r}, want {expect['result']!r}"
    if "result_contains" in expect and (result is None or expect["result_contains"] not in result):
        return f"result {result!r}, want it to contain {expect['result_contains']!r}"
    if expect.get("no_result") and result is not None:
        return f"result {result!r}, want none"
    if "stdout" in expect and stdout != expect["stdout"]:
        return f"stdout {stdout!r}, want {expect['stdout']!r}"
    if "stdout_contains" in expect and expect["stdout_contains"] not in stdout:
        return f"stdout {stdout!r}, want it to contain {expect['stdout_contains']!r}"
    for m in expect.get("mime", []):
        if m not in mimes:
            return f"no {m} among {sorted(mimes)}"
    return None


class StudentNotebooksTest(unittest.TestCase):
    def test_notebooks(self):
        self.assertTrue(NOTEBOOKS, "no student notebooks in kernel/testdata")
        failures, cells = [], 0
        for path in NOTEBOOKS:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, kernel_name="golab", timeout=300, allow_errors=True).execute()
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                cells += 1
                why = check_cell(cell)
                if why:
                    src = cell.source if len(cell.source) < 80 else cell.source[:77] + "..."
                    failures.append(f"{os.path.basename(path)} cell {i}: {src!r}: {why}")
        print(f"{cells} code cells in {len(NOTEBOOKS)} notebooks checked")
        self.assertGreaterEqual(cells, 100)
        self.assertFalse(failures, "\n".join(failures))


if __name__ == "__main__":
    unittest.main()
