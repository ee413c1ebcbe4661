"""Real shared product photos with a word printed onto them (EN and ZH), for the OCR tests and bench."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    for f in CJK_FONTS:
        if Path(f).exists():
            return ImageFont.truetype(f, size)
    raise RuntimeError(f"no CJK font at {', '.join(CJK_FONTS)}: scripts/setup.sh installs fonts-wqy-zenhei")


def print_word(src: Path, dst: Path, word: str, size: int = 30, where: float = 0.4) -> Path:
    """`word` in black with a white outline across the photo at `where` of its height, as shops
    print a brand or a claim onto a packshot."""
    img = Image.open(src).convert("RGB")
    draw = ImageDraw.Draw(img)
    font = cjk_font(size)
    w = draw.textlength(word, font=font)
    draw.text(
        ((img.width - w) / 2, img.height * where),
        word,
        font=font,
        fill=(0, 0, 0),
        stroke_width=2,
        stroke_fill=(255, 255, 255),
    )
    img.save(dst, quality=92)
    return dst
