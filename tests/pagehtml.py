"""Parse HTML pages into a small element tree, so page tests assert on structure, not strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    """An HTML element: its tag, attributes, children and text pieces in order."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """Return the element's text content, whitespace collapsed."""
        parts = []
        for child in self.children:
            parts.append(child.text() if isinstance(child, Element) else child)
        return " ".join("".join(parts).split())

    def iter(self):
        """Yield this element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Return the elements with this tag whose attributes contain the given values.

        ``class_`` matches one class among several.
        """
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            ok = True
            for name, value in attrs.items():
                name = name.rstrip("_").replace("_", "-")
                actual = element.attrs.get(name)
                if actual is None or (
                    value not in actual.split() if name == "class" else actual != value
                ):
                    ok = False
                    break
            if ok:
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        """Return the first element find_all would return, or None."""
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, ident: str) -> Element | None:
        """Return the element with this id."""
        return self.find(id=ident)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str | bytes) -> Element:
    """Return the document's root element."""
    builder = _TreeBuilder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    builder.close()
    return builder.root
