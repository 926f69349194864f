"""The assignment's three networks in PyTorch, layer for layer as golab's
lab/models builds them and with the same layer names, so that state_dict()
names and shapes equal the lab's parameter names (plus BatchNorm's
num_batches_tracked, which the lab does not keep).

Weights start from PyTorch's default initialisation; the lab's differs, so
only runs from the same weights can be compared value for value.
"""
from collections import OrderedDict

from torch import nn


class CNNModel(nn.Sequential):
    """lab/models.CNNModel: 890,410 parameters."""

    def __init__(self):
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(3, 32, 3)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(32, 32, 3)), ("relu2", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(32, 64, 3)), ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(64, 64, 3)), ("relu4", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(64 * 5 * 5, 512)), ("relu5", nn.ReLU()),
            ("out", nn.Linear(512, 10)),
        ]))


class DropoutCNN(nn.Sequential):
    """lab/models.DropoutCNN(p): 1,845,610 parameters; fc1 has 512 inputs
    (the seed report prints 1024, which its own layers cannot produce)."""

    def __init__(self, p=0.5):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability p = {p} is outside [0, 1)")
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(3, 32, 3)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(32, 32, 3)), ("relu2", nn.ReLU()),
            ("conv3", nn.Conv2d(32, 64, 3)), ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(64, 128, 3)), ("relu4", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv5", nn.Conv2d(128, 256, 3)), ("relu5", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("drop1", nn.Dropout(p)),
            ("conv6", nn.Conv2d(256, 512, 3)), ("relu6", nn.ReLU()),
            ("pool3", nn.MaxPool2d(2)),
            ("drop2", nn.Dropout(p)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(512, 512)), ("relu7", nn.ReLU()),
            ("out1", nn.Linear(512, 10)),
        ]))


class ImprovedCNN(nn.Module):
    """lab/models.ImprovedCNN: two blocks, conv_layer and fc_layer, with
    BatchNorm, LeakyReLU(0.01) and Dropout2d(0.05); 4,270,474 parameters."""

    def __init__(self):
        super().__init__()
        p, slope = 0.05, 0.01
        self.conv_layer = nn.Sequential(
            nn.Conv2d(3, 32, 3),           # 0
            nn.BatchNorm2d(32),            # 1
            nn.LeakyReLU(slope),           # 2
            nn.Conv2d(32, 64, 3),          # 3
            nn.LeakyReLU(slope),           # 4
            nn.MaxPool2d(2),               # 5
            nn.Dropout2d(p),               # 6
            nn.Conv2d(64, 256, 3),         # 7
            nn.BatchNorm2d(256),           # 8
            nn.LeakyReLU(slope),           # 9
            nn.Conv2d(256, 128, 3),        # 10
            nn.LeakyReLU(slope),           # 11
            nn.MaxPool2d(2),               # 12
            nn.Dropout2d(p),               # 13
        )
        self.flatten = nn.Flatten()
        self.fc_layer = nn.Sequential(
            nn.Linear(128 * 5 * 5, 1024),  # 0
            nn.LeakyReLU(slope),           # 1
            nn.Linear(1024, 512),          # 2
            nn.LeakyReLU(slope),           # 3
            nn.Linear(512, 10),            # 4
        )

    def forward(self, x):
        return self.fc_layer(self.flatten(self.conv_layer(x)))


NAMES = ("cnn", "dropout", "improved")


def build(name, p=0.5):
    """The model called name (cnn, dropout or improved) as on golab's command
    line (labtrain -model); p is DropoutCNN's dropout probability."""
    if name == "cnn":
        return CNNModel()
    if name == "dropout":
        return DropoutCNN(p)
    if name == "improved":
        return ImprovedCNN()
    raise ValueError(f"unknown model {name!r}: want one of {', '.join(NAMES)}")
