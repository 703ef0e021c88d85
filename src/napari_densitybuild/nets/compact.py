"""A compact residue classifier for CPUs: the poster's residual block in a 4-stage strided net.

For 22^3 boxes at 0.5 A and base width ``c``::

    conv 3^3, c            -> 22^3
    conv 3^3 stride 2, 2c  -> 11^3,  blocks[0] x [conv 1^3 c, conv 3^3 2c]
    conv 3^3 stride 2, 4c  ->  6^3,  blocks[1] x [conv 1^3 2c, conv 3^3 4c]
    conv 3^3 stride 2, 8c  ->  3^3,  blocks[2] x [conv 1^3 4c, conv 3^3 8c]  (optional)
    global average pool, (dropout), linear -> 20

BN + ReLU after every conv. With ``c = 16`` and ``blocks = (3, 3)``: about 0.51 M parameters
and 0.27 GFLOP per forward pass (DESIGN.md: ~117 training samples/s on 2 CPU cores). Blocks on
the last 3^3 stage see the whole box and are cheap: 12 MFLOP and 0.23 M parameters each.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .pose_head import PoseHead
from .pose_integral import IntegralPoseHead
from .resnet11 import Bottleneck, conv_bn_relu


class CompactNet(nn.Module):
    """Compact 3D CNN for residue boxes (fully convolutional up to a global average pool).

    Parameters
    ----------
    base
        Channels of the first conv; the strided stages have 2, 4 and 8 times as many.
    blocks
        Residual blocks after the first and after the second strided conv, and optionally a
        third count: blocks after the last strided conv (``stage4``; none when absent).
    dropout
        Dropout probability before the linear classifier (0 for none).
    input_size
        Edge of the input box in voxels (22 for 11 A at 0.5 A); recorded only.
    n_classes
        Output classes (20 amino acids).
    pose
        Add a pose head on the second stage (see :meth:`forward_pose`): True, a
        :class:`~.pose_head.PoseHead` (coordinates regressed); ``"integral"``, an
        :class:`~.pose_integral.IntegralPoseHead` (mean positions of per-atom heat maps).
    atom_head
        ``"integral"``: a second head, an :class:`~.pose_integral.IntegralPoseHead`, for the
        atoms a build refines into its model (see :meth:`forward_atoms`), the pose head keeping
        the frames and the H-bond evidence; None for none.

    Examples
    --------
    >>> net = CompactNet()
    >>> net(torch.zeros(2, 1, 22, 22, 22)).shape
    torch.Size([2, 20])
    """

    def __init__(
        self,
        base: int = 16,
        blocks: Sequence[int] = (3, 3),
        dropout: float = 0.0,
        input_size: int = 22,
        n_classes: int = 20,
        pose: bool | str = False,
        atom_head: str | None = None,
    ) -> None:
        super().__init__()
        if len(blocks) not in (2, 3) or min(blocks) < 0 or base < 1:
            raise ValueError(
                f"need base >= 1 and two or three block counts >= 0 (got {base}, {blocks})"
            )
        c = base
        self.input_size = input_size
        self.stem = conv_bn_relu(1, c, 3)
        self.stage1 = nn.Sequential(
            conv_bn_relu(c, 2 * c, 3, stride=2), *(Bottleneck(2 * c, c) for _ in range(blocks[0]))
        )
        self.stage2 = nn.Sequential(
            conv_bn_relu(2 * c, 4 * c, 3, stride=2),
            *(Bottleneck(4 * c, 2 * c) for _ in range(blocks[1])),
        )
        self.stage3 = conv_bn_relu(4 * c, 8 * c, 3, stride=2)
        top = blocks[2] if len(blocks) == 3 else 0
        self.stage4 = nn.Sequential(*(Bottleneck(8 * c, 4 * c) for _ in range(top)))
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(8 * c, n_classes)
        spatial = (((input_size + 1) // 2) + 1) // 2  # edge after the two strided convs
        if pose not in (False, True, "integral"):
            raise ValueError(f"pose is true, false or 'integral' (got {pose!r})")
        head = IntegralPoseHead if pose == "integral" else PoseHead
        self.pose_head = head(4 * c, spatial, 8 * c, n_classes=n_classes) if pose else None
        if atom_head not in (None, "integral"):
            raise ValueError(f"atom_head is None or 'integral' (got {atom_head!r})")
        self.atom_head = (
            IntegralPoseHead(4 * c, spatial, 8 * c, n_classes=n_classes) if atom_head else None
        )

    min_input_size = 1

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each stage: stem, stage1, stage2, stage3 (with stage4), pool."""
        out = []
        stages = (self.stem, self.stage1, self.stage2, nn.Sequential(self.stage3, self.stage4))
        for stage in (*stages, self.pool):
            x = stage(x)
            out.append(x)
        return out

    def forward(
        self, x: torch.Tensor, pose: bool | str = False
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Logits (B, n_classes) for boxes (B, 1, n, n, n); with ``pose`` also the pose head's
        coordinates (see :meth:`forward_pose`), with ``pose="atoms"`` the atom head's (see
        :meth:`forward_atoms`), with ``pose="both"`` both (logits, pose head's, atom head's).
        One entry point, so DistributedDataParallel sees every training forward pass."""
        mid = self.stage2(self.stage1(self.stem(x)))
        pooled = torch.flatten(self.pool(self.stage4(self.stage3(mid))), 1)
        logits = self.classifier(self.dropout(pooled))
        if not pose:
            return logits
        if pose == "both":
            if self.pose_head is None or self.atom_head is None:
                raise RuntimeError("pose='both' needs a net with a pose head and an atom head")
            return logits, self.pose_head(mid, pooled), self.atom_head(mid, pooled)
        head = self.atom_head if pose == "atoms" else self.pose_head
        if head is None:
            raise RuntimeError(f"this net has no {'atom' if pose == 'atoms' else 'pose'} head")
        return logits, head(mid, pooled)

    def forward_pose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, n_classes) and pose coordinates (B, n_classes, 14, 3) in the box frame.

        Raises
        ------
        RuntimeError
            If the net was built without a pose head (``pose=False``).
        """
        return self.forward(x, pose=True)

    def forward_atoms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the atom head's coordinates (B, n_classes, 14, 3), box frame.

        Raises
        ------
        RuntimeError
            If the net was built without an atom head.
        """
        return self.forward(x, pose="atoms")
