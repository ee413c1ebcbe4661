"""Untrusted image input: every failure must surface at load time, naming the file."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shoplens.preprocess.image import ImageError, load_image, to_array

from ..shared_data import FASHION

REAL = FASHION / "images" / "10035.jpg"


def _save(img: Image.Image, path: Path, fmt: str, **kw) -> Path:
    img.save(path, fmt, **kw)
    return path


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied(tmp_path):
    # 40x20 stored, left half red; orientation 6 means "rotate 90 CW to display".
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rot.jpg"
    p.write_bytes(_jpeg_bytes(img, exif=exif.tobytes()))
    out = load_image(p)
    assert out.size == (20, 40)
    top, bottom = np.asarray(out)[2, 10], np.asarray(out)[-3, 10]
    assert top[0] > 200 and top[2] < 60  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_rgba_composited_on_white(tmp_path):
    img = Image.new("RGBA", (8, 8), (0, 0, 0, 0))  # fully transparent black
    img.putpixel((0, 0), (255, 0, 0, 255))
    out = load_image(_save(img, tmp_path / "a.png", "PNG"))
    assert out.mode == "RGB"
    assert out.getpixel((5, 5)) == (255, 255, 255)
    assert out.getpixel((0, 0)) == (255, 0, 0)


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    img.putpixel((1, 1), 1)
    img.info["transparency"] = 0
    out = load_image(_save(img, tmp_path / "p.png", "PNG", transparency=0))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 1)) == (0, 255, 0)


def test_cmyk_and_greyscale(tmp_path):
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    out = load_image(_save(cmyk, tmp_path / "c.jpg", "JPEG", quality=100))
    r, g, b = out.getpixel((4, 4))
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60
    grey = load_image(_save(Image.new("L", (8, 8), 77), tmp_path / "g.png", "PNG"))
    assert grey.mode == "RGB" and grey.getpixel((3, 3)) == (77, 77, 77)
    deep = Image.fromarray(np.full((4, 4), 40000, np.uint16))  # 16-bit grey
    out16 = load_image(_save(deep, tmp_path / "d.png", "PNG"))
    assert out16.mode == "RGB" and out16.getpixel((0, 0))[0] == 255  # scaled, not garbage


@pytest.mark.usefixtures("shared_data")
def test_truncated_jpeg_raises_naming_path(tmp_path):
    data = REAL.read_bytes()
    p = tmp_path / "trunc.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as ei:
        load_image(p)
    assert str(p) in str(ei.value)


def test_non_image_bytes_and_missing_file(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("definitely not a jpeg")
    with pytest.raises(ImageError, match="notes.jpg"):
        load_image(p)
    with pytest.raises(ImageError, match="<bytes>"):
        load_image(b"\x00\x01garbage")
    with pytest.raises(ImageError, match="missing.jpg"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


def test_oversize_bytes_rejected_before_decoding(tmp_path):
    p = tmp_path / "big.jpg"
    p.write_bytes(b"\x00" * 2048)  # not even an image: proves we never try to decode
    with pytest.raises(ImageError, match="byte limit"):
        load_image(p, max_bytes=1024)
    with pytest.raises(ImageError, match="byte limit"):
        load_image(b"\x00" * 2048, max_bytes=1024)


def test_pixel_bomb_rejected_before_decoding():
    # PNG headers claiming huge sizes but carrying no pixel data: decoding would
    # fail (or allocate GBs), so passing proves the limit trips on the header alone.
    import zlib

    def header_only_png(w: int, h: int) -> bytes:
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")

    # Both below PIL's own bomb threshold (our limit decides) and far above it.
    for w, h in ((10_000, 5_000), (100_000, 100_000)):
        with pytest.raises(ImageError, match="pixel limit"):
            load_image(header_only_png(w, h), max_pixels=40_000_000)
    small = _jpeg_bytes(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageError, match="pixel limit"):
        load_image(small, max_pixels=5_000)


@pytest.mark.usefixtures("shared_data")
def test_to_array_shape_dtype_and_normalisation():
    img = Image.new("RGB", (300, 200), (124, 116, 104))  # ~ImageNet mean colour
    a = to_array(img)
    assert a.shape == (3, 224, 224) and a.dtype == np.float32
    assert np.abs(a).max() < 0.01
    white = to_array(Image.new("RGB", (224, 224), "white"), mean=(0.5,) * 3, std=(0.5,) * 3)
    np.testing.assert_allclose(white, 1.0, atol=1e-6)
    real = to_array(load_image(REAL), size=112, resize=128)
    assert real.shape == (3, 112, 112) and real.flags["C_CONTIGUOUS"]


def test_center_crop_keeps_the_middle():
    img = Image.new("RGB", (512, 256), "black")
    img.paste((255, 255, 255), (192, 0, 320, 256))  # white vertical band in the centre
    a = to_array(img, mean=(0, 0, 0), std=(1, 1, 1))
    assert a[:, :, 112].min() > 0.99  # centre column white
    assert a[:, :, 0].max() < 0.01  # crop edges black
