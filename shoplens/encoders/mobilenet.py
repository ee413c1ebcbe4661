"""MobileNetV2, written out so torchvision is never needed.

torchvision pins its own torch build, so we mirror its module layout exactly
instead: the state_dict keys match `torchvision.models.mobilenet_v2`, which
lets the published ImageNet checkpoint load with strict=True (any drift in the
layout fails loudly rather than silently leaving layers random).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .mobilenet_weights import weights_path
from .openmp import import_torch

if TYPE_CHECKING:  # the checker reads torch's own types; at run time the import goes through import_torch
    import torch
    from torch import nn
else:
    torch = import_torch()  # PASSIVE OpenMP; see import_torch
    nn = torch.nn

# (expansion t, output channels c, repeats n, first stride s) from the paper.
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNReLU(cin, hidden, k=1)] if expand != 1 else []
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        cin = 32
        feats: list[nn.Module] = [ConvBNReLU(3, cin, stride=2)]
        for t, c, n, s in _SETTINGS:
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(ConvBNReLU(cin, 1280, k=1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled 1280-d features: generic visual similarity, not tied to ImageNet's labels."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


class _Embedder(nn.Module):
    """Wrapper whose forward is `embed`, so ONNX export captures features, not logits.

    `mirror`: the features of the photo and of its mirror image, averaged. A packshot and its
    mirror show the same product, so this removes a nuisance the attribute classifiers would
    otherwise have to learn, at twice the CNN work per photo (benchmarks/cnn_probe.py)."""

    def __init__(self, net: MobileNetV2, *, mirror: bool = False):
        super().__init__()
        self.net = net
        self.mirror = mirror

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.mirror:
            return self.net.embed(x)
        return (self.net.embed(x) + self.net.embed(torch.flip(x, dims=(3,)))) * 0.5


def load_pretrained(path: str | Path | None = None) -> MobileNetV2:
    net = MobileNetV2()
    sd = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(sd, strict=True)
    return net.eval()


def feature_model(path: str | Path | None = None, *, mirror: bool = False) -> nn.Module:
    return _Embedder(load_pretrained(path), mirror=mirror).eval()
