"""Opening or building a store fingerprints every image encoder; that must not import torch.

torch costs about 1.5 s of CPU per process; every `shoplens search` paid it for MobileNetV2's weights
path alone, though only an ONNX export (done once per cache) needs torch.
"""

from __future__ import annotations

import subprocess
import sys

from ..shared_data import ROOT

CODE = """
import sys, tempfile
from shoplens.config import EncoderConfig
from shoplens.encoders.registry import create
for name in EncoderConfig().image:
    enc = create(name, threads=1, batch_size=1, cache_dir=tempfile.mkdtemp())
    assert len(enc.fingerprint()) == 16, name
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def test_default_image_encoders_fingerprint_without_importing_torch():
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout
