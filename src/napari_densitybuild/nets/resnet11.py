"""The poster's residue classifier, "ResNet-11" (Li, de Oliveira, van den Bedem), as a config.

The network table of the poster, for a 41^3 box at 0.25 A (BN + ReLU after every conv but
the classifier)::

    conv 128 3^3 -> 41^3      max 2 -> 20^3
    conv 256 3^3 -> 20^3      max 2 -> 10^3
    conv 512 3^3 -> 10^3
    [conv 256 1^3, conv 512 3^3] x 11, identity skip      (the highlighted residual block)
    max 2 -> 5^3
    conv 1024 3^3, conv 512 1^3, conv 256 1^3 -> 5^3
    max 5 -> 1^3 (here: global max pool, so other input sizes work)
    conv 20 1^3 -> logits (softmax in the loss)

29 learnable layers: 3 stem convs + 22 in the residual blocks + 3 head convs + the classifier.
About 59.6 M parameters and 106 GFLOP per forward pass at width 1 and 41^3.

Options: ``width`` multiplies every channel count, ``repeats`` sets the number of residual
blocks, ``stem_pools`` the number of 2x max-pools before the residual stage (2 in the table;
1 suits 22^3 boxes at 0.5 A: the pool after the second conv is dropped, so the residual stage
runs at 11^3, about the table's 1.1 A per voxel: 1.9 M parameters and 2.8 GFLOP at width 0.25
with 3 blocks).
"""

from __future__ import annotations

import torch
from torch import nn

#: Channel counts of the table at width 1.
STEM = (128, 256, 512)
BOTTLENECK = 256
HEAD = (1024, 512, 256)


def conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Conv3d (same padding, no bias) followed by batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class Bottleneck(nn.Module):
    """The poster's residual block: conv 1^3 (``mid``) -> conv 3^3 (``channels``), identity skip.

    Post-activation (as torchvision): ``relu(x + bn(conv3(relu(bn(conv1(x))))))``.
    """

    def __init__(self, channels: int, mid: int) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(channels, mid, 1)
        self.conv = nn.Conv3d(mid, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm3d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output: ReLU of the input plus the bottleneck's."""
        return self.relu(x + self.bn(self.conv(self.reduce(x))))


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class ResNet11(nn.Module):
    """The poster's ResNet-11 residue classifier.

    Parameters
    ----------
    width
        Channel multiplier (1.0 is the table).
    repeats
        Number of residual blocks (11 in the table).
    input_size
        Edge of the input box in voxels (41 in the table); recorded, and used by
        :meth:`feature_shapes`. Any input of at least ``min_input_size`` works.
    stem_pools
        2x max-pools before the residual stage: 2 (table) or 1 (for 0.5 A sampling).
    n_classes
        Output classes (20 amino acids).

    Examples
    --------
    >>> net = ResNet11(width=0.25, repeats=2)
    >>> net(torch.zeros(2, 1, 41, 41, 41)).shape
    torch.Size([2, 20])
    """

    def __init__(
        self,
        width: float = 1.0,
        repeats: int = 11,
        input_size: int = 41,
        stem_pools: int = 2,
        n_classes: int = 20,
    ) -> None:
        super().__init__()
        if stem_pools not in (0, 1, 2):
            raise ValueError(f"stem_pools must be 0, 1 or 2, not {stem_pools}")
        if repeats < 0 or width <= 0:
            raise ValueError(f"need repeats >= 0 and width > 0 (got {repeats}, {width})")
        c1, c2, c3 = (_scaled(c, width) for c in STEM)
        mid = _scaled(BOTTLENECK, width)
        h1, h2, h3 = (_scaled(c, width) for c in HEAD)
        self.input_size = input_size
        self.stem_pools = stem_pools
        # Pools after the first and second conv; the first `stem_pools` of them are kept.
        pool1 = nn.MaxPool3d(2) if stem_pools >= 1 else nn.Identity()
        pool2 = nn.MaxPool3d(2) if stem_pools >= 2 else nn.Identity()
        self.stem = nn.Sequential(
            conv_bn_relu(1, c1, 3), pool1, conv_bn_relu(c1, c2, 3), pool2, conv_bn_relu(c2, c3, 3)
        )
        self.blocks = nn.Sequential(*(Bottleneck(c3, mid) for _ in range(repeats)))
        self.pool = nn.MaxPool3d(2)
        self.head = nn.Sequential(
            conv_bn_relu(c3, h1, 3), conv_bn_relu(h1, h2, 1), conv_bn_relu(h2, h3, 1)
        )
        self.global_pool = nn.AdaptiveMaxPool3d(1)  # the table's "max 5" at 5^3
        self.classifier = nn.Conv3d(h3, n_classes, 1)

    @property
    def min_input_size(self) -> int:
        """Smallest box edge (voxels) the pooling chain accepts."""
        return 2 ** (self.stem_pools + 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each stage: stem, residual blocks, pool, head, global pool."""
        out = []
        for stage in (self.stem, self.blocks, self.pool, self.head, self.global_pool):
            x = stage(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) for boxes (B, 1, n, n, n)."""
        if min(x.shape[-3:]) < self.min_input_size:
            raise ValueError(
                f"box of {tuple(x.shape[-3:])} voxels is too small for this net "
                f"(at least {self.min_input_size}^3)"
            )
        x = self.global_pool(self.head(self.pool(self.blocks(self.stem(x)))))
        return torch.flatten(self.classifier(x), 1)
