"""Product videos -> a few key-frames (PyAV, which ships FFmpeg in its wheel).

A video is untrusted input like a photo: it may be truncated, not a video at all, or hours long.
Decoding is bounded twice, by a frame count and by wall-clock decode time, and every failure
becomes a `VideoError` naming the file, so the build reports it and indexes the rest of the
product. Frames come out as upright RGB PIL images no larger than `max_side`, ready for the same
encoders as photos.

Sampling:
- "uniform": frames evenly spread over the video (a stride that doubles as the video turns out
  longer, so the duration need not be known in advance and memory stays bounded);
- "scene": a frame is kept when it differs from the frame before it (mean absolute difference of
  16x16 grey thumbnails, 0..1) by more than `scene_threshold`, i.e. at each cut; a single shot
  yields one frame, a cut-heavy video is thinned evenly to `max_frames`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ShoplensError

SAMPLINGS = ("uniform", "scene")
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".m4v", ".mkv", ".avi")


class VideoError(ShoplensError):
    """A video that cannot be used (undecodable, no video stream, no frame); says which and why."""

    def __init__(self, source: str, reason: str):
        self.source, self.reason = source, reason
        super().__init__(f"{source}: {reason}")


@dataclass
class KeyFrames:
    frames: list[Image.Image] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # seconds from the start
    decoded: int = 0  # frames decoded to choose them
    truncated: bool = False  # stopped at the decode-time bound before the end


def _even(n: int, k: int) -> list[int]:
    """k indices spread evenly over range(n) (all of them when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({int(round((i + 0.5) * n / k - 0.5)) for i in range(k)})


def _small(img: Image.Image, max_side: int) -> Image.Image:
    img = img.convert("RGB")
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return img


def key_frames(
    path: str | Path,
    *,
    max_frames: int = 8,
    sampling: str = "uniform",
    max_decode_s: float = 10.0,
    scene_threshold: float = 0.08,
    max_side: int = 512,
) -> KeyFrames:
    """At most `max_frames` key-frames of one video; raises `VideoError` for anything unusable."""
    import av

    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    name = str(path)
    out = KeyFrames()
    kept: list[tuple[float, Image.Image]] = []
    stride = 1
    last_sig: np.ndarray | None = None
    t0 = time.perf_counter()
    try:
        with av.open(name) as container:
            fmt = container.format.name
            if fmt.startswith("image2") or fmt.endswith("_pipe"):  # FFmpeg opens a photo as a 1-frame video
                raise VideoError(name, f"this is a still image ({fmt}), not a video; put photos in 'image'")
            if not container.streams.video:
                raise VideoError(name, "no video stream in this file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                i = out.decoded
                out.decoded += 1
                t = float(frame.time) if frame.time is not None else float(i)
                if sampling == "uniform":
                    if i % stride == 0:
                        kept.append((t, _small(frame.to_image(), max_side)))
                        if len(kept) >= 2 * max_frames:  # longer than expected: keep every other, double the stride
                            kept = kept[::2]
                            stride *= 2
                else:
                    sig = frame.reformat(width=16, height=16, format="gray").to_ndarray().astype(np.float32) / 255.0
                    cut = last_sig is None or float(np.abs(sig - last_sig).mean()) > scene_threshold
                    last_sig = sig  # vs the frame before: a cut is abrupt, a slow pan or zoom is not
                    if cut:
                        kept.append((t, _small(frame.to_image(), max_side)))
                        if len(kept) >= 4 * max_frames:
                            kept = [kept[j] for j in _even(len(kept), 2 * max_frames)]
                if time.perf_counter() - t0 > max_decode_s:
                    out.truncated = True
                    break
    except VideoError:
        raise
    except (av.FFmpegError, OSError, ValueError, RuntimeError) as e:  # FFmpeg reports corrupt data in several ways
        raise VideoError(name, f"cannot decode as a video ({type(e).__name__}: {e})") from None
    if not kept:
        raise VideoError(name, "no decodable frame in this file")
    for j in _even(len(kept), max_frames):
        out.times.append(kept[j][0])
        out.frames.append(kept[j][1])
    return out


def write_slideshow(
    path: str | Path, photos: list[str | Path], seconds_each: float = 1.0, fps: int = 10, size: int = 224
) -> Path:
    """An H.264 mp4 showing each photo for `seconds_each`, gently zooming (so frames differ like a
    real product clip's): what tests and benchmarks use as product videos made from real photos."""
    import av

    path = Path(path)
    n = max(1, int(round(seconds_each * fps)))
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for photo in photos:
            img = Image.open(photo).convert("RGB").resize((size, size))
            for k in range(n):
                crop = int(size * 0.08 * k / n)  # slow zoom-in
                frame_img = img.crop((crop, crop, size - crop, size - crop)).resize((size, size))
                for packet in stream.encode(av.VideoFrame.from_image(frame_img)):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
