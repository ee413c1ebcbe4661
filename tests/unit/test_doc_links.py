"""Relative links in README.md and docs/*.md point to files and headings that exist.

The README was split into docs/; a moved section or renamed heading would otherwise leave links that
look fine in review and lead nowhere. Anchors follow GitHub's rule (lowercase; letters, digits, `_`,
`-` and spaces kept; spaces become `-`; repeats get `-1`, `-2`, ...).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading: str) -> str:
    text = re.sub(r"[`*]", "", heading.strip().lower())
    kept = "".join(c for c in text if c in "- " or unicodedata.category(c)[0] in "LMN" or c == "_")
    return kept.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", markdown).splitlines():
        if m := re.match(r"#{1,6} (.+)", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(doc: Path, root: Path = ROOT) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    bad = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if not dest.exists():
            bad.append(f"{doc.relative_to(root)}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
            bad.append(f"{doc.relative_to(root)}: {target} (no such heading)")
    return bad


def test_every_relative_link_resolves():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(docs) > 1
    assert [b for d in docs for b in broken_links(d)] == []


def test_checker_catches_a_missing_file_and_heading(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n## Text→photo, round 2\n\n## Top\n", encoding="utf-8")
    doc = tmp_path / "b.md"
    doc.write_text(
        "[ok](a.md#textphoto-round-2) [ok](a.md#top-1) [ok](#here) [web](https://x.org/y)\n"
        "[bad](missing.md) [bad](a.md#nowhere)\n```\n[in code](ignored.md)\n```\n# Here\n",
        encoding="utf-8",
    )
    assert [b.split(" (")[0] for b in broken_links(doc, tmp_path)] == ["b.md: missing.md", "b.md: a.md#nowhere"]
