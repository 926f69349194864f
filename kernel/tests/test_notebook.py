"""Runs kernel/testdata/kernel_check.ipynb headless through nbclient on the
golab kernel and checks its outputs. Needs the kernelspec installed (make
test-kernel installs it into a throwaway JUPYTER_DATA_DIR)."""

import base64
import os
import unittest

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "testdata", "kernel_check.ipynb")


class NotebookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(nb, kernel_name="golab", timeout=120, allow_errors=False).execute()
        cls.cells = {}
        for cell in nb.cells:
            for tag in cell.get("metadata", {}).get("tags", []):
                cls.cells[tag] = cell

    def outputs(self, tag, output_type=None):
        outs = self.cells[tag].get("outputs", [])
        return [o for o in outs if output_type is None or o["output_type"] == output_type]

    def result(self, tag):
        res = self.outputs(tag, "execute_result")
        self.assertEqual(len(res), 1, f"cell {tag}: {self.cells[tag].get('outputs')}")
        return res[0]["data"]

    def test_state_across_cells(self):
        self.assertEqual(self.result("state-get")["text/plain"], "42")

    def test_redefinition_reaches_earlier_function(self):
        self.assertEqual(self.result("redef-before")["text/plain"], "0.5")
        self.assertEqual(self.result("redef-after")["text/plain"], "0.8")

    def test_png_inline(self):
        data = self.result("png")
        png = base64.b64decode(data["image/png"])
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), png[:8])
        self.assertGreater(len(png), 1000)

    def test_html_table_inline(self):
        html = self.result("html")["text/html"]
        self.assertIn("<table>", html)
        self.assertEqual(html.count("<tr>"), 4)

    def test_display_updated_in_place(self):
        shown = self.outputs("update", "display_data")
        self.assertEqual(len(shown), 1, self.cells["update"]["outputs"])
        self.assertEqual(shown[0]["data"]["text/markdown"], "epoch 3")

    def test_error_then_working_cell(self):
        errors = self.outputs("error", "error")
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["ename"], "CompileError")
        self.assertIn("1:10: undefined: notDeclared", errors[0]["evalue"])
        self.assertEqual(self.result("after-error")["text/plain"], "22")


if __name__ == "__main__":
    unittest.main()
