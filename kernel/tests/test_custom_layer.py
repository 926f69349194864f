"""Runs kernel/testdata/custom_layer.ipynb headless through nbclient on the
golab kernel: a layer written in a cell (a type implementing lab.Layer, and
one from lab.Custom) passes lab.GradCheck and trains inside a lab.BuildCNN
model; a wrong backward pass fails GradCheck; an optimizer written in a cell
trains; the beats of a step run one by one. Needs the kernelspec installed
(make test-kernel installs it into a throwaway JUPYTER_DATA_DIR)."""

import os
import re
import unittest

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "testdata", "custom_layer.ipynb")


class CustomLayerNotebookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(nb, kernel_name="golab", timeout=300, allow_errors=False).execute()
        cls.cells = {}
        for cell in nb.cells:
            for tag in cell.get("metadata", {}).get("tags", []):
                cls.cells[tag] = cell

    def stdout(self, tag):
        outs = self.cells[tag].get("outputs", [])
        errors = [o for o in outs if o["output_type"] == "error"]
        self.assertEqual(errors, [], f"cell {tag} failed")
        return "".join(o["text"] for o in outs if o["output_type"] == "stream" and o["name"] == "stdout")

    def test_layer_type_passes_gradcheck(self):
        out = self.stdout("gradcheck-type")
        self.assertRegex(out, r"input\s+40\s+\S+\s+ok")
        self.assertRegex(out, r"weight\s+4\s+\S+\s+ok")
        self.assertIn("GradCheck error: <nil>", out)

    def test_custom_layer_passes_gradcheck(self):
        out = self.stdout("gradcheck-custom")
        self.assertRegex(out, r"input\s+40\s+\S+\s+ok")
        self.assertIn("GradCheck error: <nil>", out)

    def test_wrong_backward_fails_gradcheck(self):
        self.assertEqual(self.stdout("gradcheck-wrong").strip(), "true")

    def test_trains_inside_buildcnn(self):
        out = self.stdout("train")
        m = re.search(r"loss ([\d.]+) -> ([\d.]+), best validation accuracy (\d+) %, scale weights moved: (\w+)", out)
        self.assertIsNotNone(m, out)
        first, last, acc, moved = float(m[1]), float(m[2]), int(m[3]), m[4]
        self.assertLess(last, first, out)
        self.assertGreater(acc, 30, out)  # 10 classes: chance is 10 %
        self.assertEqual(moved, "true", out)
        summary = self.cells["summary"]["outputs"][0]["data"]["text/plain"]
        self.assertIn("(scale): ChannelScale()", summary)
        self.assertIn("SiLU()", summary)

    def test_optimizer_written_in_a_cell(self):
        m = re.search(r"loss ([\d.]+) -> ([\d.]+)", self.stdout("optimizer"))
        self.assertIsNotNone(m)
        self.assertLess(float(m[2]), float(m[1]))

    def test_beats(self):
        out = self.stdout("beats")
        self.assertIn("gradient norm of scale.weight > 0: true, errors: <nil> <nil>", out)


if __name__ == "__main__":
    unittest.main()
