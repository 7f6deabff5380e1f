"""Every relative link in the README, CONTRIBUTING.md, docs/ and bench/README.md reaches a file (and heading).

The README stays short and points into docs/; a moved or renamed section must not leave a dead link.
Links to other sites are not fetched. Anchors follow GitHub's heading ids: lower case, punctuation
dropped (hyphens and underscores kept), spaces become hyphens, a repeated heading gets ``-1``, ``-2``...
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("**/*.md")]
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); the target ends at whitespace (an optional "title" follows) or ')'.
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ID = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def _prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def _slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts by its text
    text = text.replace("`", "").strip().lower()
    kept = "".join(
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N") or unicodedata.category(ch) == "Mn"
    )
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The ids GitHub gives the headings of ``path`` (and explicit ``<a id=...>`` anchors)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path):
        found.update(_HTML_ID.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[tuple[int, str]]:
    links = []
    for number, line in _prose_lines(path):
        for target in _LINK.findall(_INLINE_CODE.sub("", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:...
                continue
            links.append((number, target))
    return links


def dead_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not destination.exists():
            problems.append(f"{where} (no such file)")
        elif anchor and destination.suffix == ".md" and unquote(anchor) not in anchors(destination):
            problems.append(f"{where} (no heading with this id in {destination.relative_to(root)})")
    return problems


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert dead_links(path) == []


def test_the_check_sees_links_and_headings(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Title\n\n## The `serve --http` mode (local)\n\n## Title\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#the-serve---http-mode-local) [ok](other.md#title-1) [site](https://example.com/x)\n"
        "[missing file](nothing.md) [missing heading](other.md#nope) `[code](ignored.md)`\n"
        "```\n[fenced](ignored-too.md)\n```\n",
        encoding="utf-8",
    )
    assert dead_links(page, root=tmp_path) == [
        "page.md:2: nothing.md (no such file)",
        "page.md:2: other.md#nope (no heading with this id in other.md)",
    ]


def test_every_document_is_linked_from_the_readme() -> None:
    """The README is the contents: CONTRIBUTING, each page of docs/ and the benchmarks' README are one click away."""
    readme = ROOT / "README.md"
    linked = {(readme.parent / target.partition("#")[0]).resolve() for _, target in relative_links(readme)}
    pages = [path for path in DOCUMENTS if path != readme]
    assert [str(p.relative_to(ROOT)) for p in pages if p.resolve() not in linked] == []


def test_every_benchmark_is_described_in_the_bench_readme() -> None:
    from bench.__main__ import BENCHMARKS

    text = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    assert [name for name in BENCHMARKS if f"bench.{name}" not in text and f"bench/{name}.py" not in text] == []
