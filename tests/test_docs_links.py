"""Every link of the README and docs/ to a local file or heading leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The documentation a reader follows links in; generated and ignored folders are left out.
DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "bench" / "README.md"]
    + list((ROOT / "docs").rglob("*.md"))
    + list((ROOT / "bench" / "results").glob("*.md"))
    + list((ROOT / "tests" / "data").rglob("*.md"))
)

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+).*?\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
OUTSIDE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto: …


def prose(text: str) -> str:
    """Return the text without fenced blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(markdown: Path) -> set[str]:
    """Return the heading anchors of a Markdown file, as GitHub writes them."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown.read_text(encoding="utf-8"))):
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(markdown: Path) -> list[str]:
    """Return each local link of a Markdown file whose file or heading does not exist."""
    broken = []
    for target in LINK.findall(prose(markdown.read_text(encoding="utf-8"))):
        if OUTSIDE.match(target):
            continue
        path, _, fragment = target.partition("#")
        linked = (markdown.parent / path).resolve() if path else markdown
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.name}")
    return broken


@pytest.mark.parametrize("markdown", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_local_links_resolve(markdown: Path) -> None:
    assert broken_links(markdown) == []


def test_readme_and_docs_are_checked() -> None:
    names = {str(p.relative_to(ROOT)) for p in DOCUMENTS}
    assert {"README.md", "bench/README.md", "docs/safety.md"} <= names


def test_a_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](there.md#a-heading) [gone](missing.md) [no heading](there.md#elsewhere)\n"
        "`[in code](missing.md)` [outside](https://example.org/x) [here](#top)\n\n# Top\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "there.md#elsewhere: no heading #elsewhere in there.md",
    ]
