"""Name -> encoder factory, so configs and store manifests refer to models by
a short stable string and plug-ins can add models without editing shoplens.

Besides the built-ins, `onnx:/abs/path/model.onnx[?size=..&resize=..&mean=a,b,c&std=a,b,c]`
wraps any image model already exported to ONNX (e.g. an OpenCLIP visual tower),
with ImageNet normalisation unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from .base import Encoder
from .onnx_cnn import OnnxImageEncoder

Factory = Callable[..., Encoder]  # called as factory(threads=, batch_size=, cache_dir=)
_FACTORIES: dict[str, Factory] = {}
ONNX_PREFIX = "onnx:"


def register(name: str, factory: Factory) -> None:
    if not name or name.startswith(ONNX_PREFIX):
        raise ValueError(f"invalid encoder name {name!r}")
    _FACTORIES[name] = factory


def available() -> list[str]:
    return sorted(_FACTORIES) + [ONNX_PREFIX + "/abs/path/model.onnx"]


def create(name: str, *, threads: int, batch_size: int, cache_dir: Path, int8: bool = False) -> Encoder:
    """`int8`: the built-in ONNX image encoders run a dynamically int8-quantised copy of their
    export; a user's own `onnx:` file and the other encoders run as they are."""
    if name.startswith(ONNX_PREFIX):
        return OnnxFileEncoder.from_spec(name, threads=threads, batch_size=batch_size)
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; available: {', '.join(available())}") from None
    enc = factory(threads=threads, batch_size=batch_size, cache_dir=Path(cache_dir))
    if int8 and isinstance(enc, OnnxImageEncoder):
        enc.use_int8()
    return enc


class OnnxFileEncoder(OnnxImageEncoder):
    """A user-supplied ONNX image model: no export step, the file is the model.
    Its output is average-pooled if it is a feature map, else flattened."""

    def __init__(
        self,
        path: str | Path,
        *,
        size: int = 224,
        resize: int | None = None,
        mean=None,
        std=None,
        spec: str | None = None,
        **kw,
    ) -> None:
        path = Path(path)
        if not path.is_absolute() or not path.is_file():
            raise ValueError(f"ONNX model must be an existing absolute path: {path}")
        super().__init__(cache_dir=path.parent, **kw)
        self.path = path
        self.name = spec or f"{ONNX_PREFIX}{path}"
        self.size = int(size)
        self.resize = int(resize) if resize else round(self.size * 256 / 224)
        self.mean = tuple(mean) if mean is not None else self.mean
        self.std = tuple(std) if std is not None else self.std
        self._dim: int | None = None

    @classmethod
    def from_spec(cls, spec: str, **kw) -> OnnxFileEncoder:
        parts = urlsplit(spec[len(ONNX_PREFIX) :])
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        floats = lambda s: tuple(float(x) for x in s.split(","))  # noqa: E731
        unknown = set(q) - {"size", "resize", "mean", "std"}
        if unknown:
            raise ValueError(f"{spec}: unknown options {sorted(unknown)}")
        return cls(
            parts.path,
            size=int(q.get("size", 224)),
            resize=int(q["resize"]) if "resize" in q else None,
            mean=floats(q["mean"]) if "mean" in q else None,
            std=floats(q["std"]) if "std" in q else None,
            spec=spec,
            **kw,
        )

    @property
    def dim(self) -> int:  # type: ignore[override]
        # Only known from the graph; a dummy forward settles symbolic shapes.
        if self._dim is None:
            x = np.zeros((1, 3, self.size, self.size), np.float32)
            self._dim = int(self.encode_arrays(x).shape[1])
        return self._dim

    def weights_file(self) -> Path:
        return self.path

    def preprocess_tag(self) -> str:
        # Content + preprocessing, not the path: moving the file keeps the vectors valid.
        return f"onnx-file|{self.size}/{self.resize}|{self.mean}|{self.std}"

    def ensure_onnx(self) -> Path:
        return self.path


def _builtins() -> None:
    from .colour import ColourHistogramEncoder
    from .onnx_cnn import EfficientNetLite0Encoder, EfficientNetLite2Encoder, MobileNetV2Encoder
    from .text import E5Encoder, USEEncoder

    for cls in (
        MobileNetV2Encoder,
        EfficientNetLite0Encoder,
        EfficientNetLite2Encoder,
        ColourHistogramEncoder,
        E5Encoder,
        USEEncoder,
    ):
        register(cls.name, cls)


_builtins()
