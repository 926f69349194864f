"""Trains a small model in the golab kernel, headless through nbclient, and
checks lab/viz's live training view: one display, updated in place several
times, ending with the final curves as image/png, and no flood of stream
lines. Needs the kernelspec installed (make test-kernel installs it into a
throwaway JUPYTER_DATA_DIR)."""

import base64
import unittest

import nbformat
from nbclient import NotebookClient

SETUP = """\
import (
    "math/rand"

    "golab/lab"
)

// 640 random images: enough for 20 steps an epoch at batch 32.
r := rand.New(rand.NewSource(1))
pix := make([]byte, 640*lab.ImageBytes)
r.Read(pix)
labels := make([]uint8, 640)
for i := range labels {
    labels[i] = uint8(i % 10)
}
set, err := lab.NewDataset("random", lab.DefaultClasses, pix, labels)
train, val, err := set.Split(64, 1)
model, err := lab.BuildCNN("tiny", 1, lab.Conv2d(3, 4, 3, lab.Stride(2)), lab.ReLU(), lab.MaxPool2d(2),
    lab.Flatten(), lab.Linear(lab.Auto, 10))
"""

TRAIN = """\
history, err := lab.Train(model, train, val, lab.Config{Epochs: 4, LogEvery: 5})
len(history.Epochs)
"""


class RecordingClient(NotebookClient):
    """An nbclient that keeps every iopub message of the cells it runs."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.messages = []

    def process_message(self, msg, cell, cell_index):
        self.messages.append((cell_index, msg))
        return super().process_message(msg, cell, cell_index)


class LiveViewTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TRAIN)]
        client = RecordingClient(nb, kernel_name="golab", timeout=300, allow_errors=False)
        client.execute()
        cls.nb = nb
        cls.msgs = [m for i, m in client.messages if i == 1]

    def of_type(self, t):
        return [m for m in self.msgs if m["msg_type"] == t]

    def test_one_display_updated_in_place(self):
        shown = self.of_type("display_data")
        self.assertEqual(len(shown), 1, [m["content"] for m in shown])
        did = shown[0]["content"]["transient"]["display_id"]
        updates = self.of_type("update_display_data")
        self.assertGreaterEqual(len(updates), 4, "one update per epoch and the final one")
        for u in updates:
            self.assertEqual(u["content"]["transient"]["display_id"], did)
        final = updates[-1]["content"]["data"]
        png = base64.b64decode(final["image/png"])
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertIn("text/plain", final)

    def test_no_flood_of_stream_lines(self):
        lines = sum(m["content"]["text"].count("\n") for m in self.of_type("stream"))
        self.assertLess(lines, 20, "the live view should replace the log lines, not add to them")

    def test_notebook_keeps_the_final_view(self):
        outs = self.nb.cells[1].outputs
        views = [o for o in outs if o["output_type"] == "display_data"]
        self.assertEqual(len(views), 1, outs)
        self.assertIn("image/png", views[0]["data"])
        result = [o for o in outs if o["output_type"] == "execute_result"]
        self.assertEqual(result[0]["data"]["text/plain"], "4")


if __name__ == "__main__":
    unittest.main()
