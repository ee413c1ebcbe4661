"""Cross-modal alignment: projection heads that put text and images in one space."""

from .config import AlignConfig
from .heads import Heads, HeadsError, default_heads_path

__all__ = ["AlignConfig", "Heads", "HeadsError", "default_heads_path", "align_store", "train_heads"]


def __getattr__(name):  # keep `import shoplens.align` light (no torch, no jieba)
    if name == "align_store":
        from .run import align_store

        return align_store
    if name == "train_heads":
        from .train import train_heads

        return train_heads
    raise AttributeError(name)
