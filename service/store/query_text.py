"""What the remote backend reads from a query's text: its form, its FROM graphs, its booleans.

This is not a safety check (the pre-check decides what may run): it only tells the backend how
to ask a store and how to read its answer. A store is asked for N-Triples or SPARQL results
by the query form; FROM graphs are sent as protocol parameters, which every store honours;
variables bound to ``EXISTS``, ``true`` or ``false`` are read back as booleans, because
Virtuoso answers them as the integers 1 and 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>'''(?:[^\\]|\\.)*?'''|\"\"\"(?:[^\\]|\\.)*?\"\"\"
                 |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<variable>[?$][\w\u00B7-\uFFFF]+)
    | (?P<name>[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7-\uFFFF]*:?[\w.\-:%\u00B7-\uFFFF]*|:[\w.\-:%]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
BOOLEAN_STARTS = {"EXISTS", "NOT", "TRUE", "FALSE"}


@dataclass(frozen=True)
class QueryText:
    """The parts of a query the remote backend needs."""

    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE ("" when none is found)
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]
    boolean_variables: frozenset[str]

    @property
    def returns_graph(self) -> bool:
        """Return whether the answer is RDF triples (CONSTRUCT, DESCRIBE)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")


def tokens(sparql: str) -> list[tuple[str, str]]:
    """Return the query's tokens as (kind, text), leaving out spaces and comments."""
    return [
        (match.lastgroup, match.group())
        for match in TOKEN.finditer(sparql)
        if match.lastgroup not in ("space", "comment")
    ]


def read_query(sparql: str) -> QueryText:
    """Return the form, FROM graphs and boolean-valued variables of a query."""
    found = tokens(sparql)
    prefixes: dict[str, str] = {}
    form = ""
    from_graphs: list[str] = []
    from_named: list[str] = []
    booleans: set[str] = set()
    for index, (kind, text) in enumerate(found):
        word = text.upper() if kind == "name" else ""
        if word == "PREFIX" and index + 2 < len(found):
            prefixes[found[index + 1][1].rstrip(":")] = found[index + 2][1][1:-1]
        elif word in FORMS and not form:
            form = word
        elif word == "FROM" and index + 1 < len(found):
            target = found[index + 1]
            named = target[0] == "name" and target[1].upper() == "NAMED"
            if named and index + 2 < len(found):
                target = found[index + 2]
            iri = _iri(target, prefixes)
            if iri is not None:
                (from_named if named else from_graphs).append(iri)
        elif word == "AS" and index + 1 < len(found) and found[index + 1][0] == "variable":
            if _opens_boolean(found, index):
                booleans.add(found[index + 1][1][1:])
    return QueryText(form, tuple(from_graphs), tuple(from_named), frozenset(booleans))


def _iri(token: tuple[str, str], prefixes: dict[str, str]) -> str | None:
    kind, text = token
    if kind == "iri":
        return text[1:-1]
    if kind == "name" and ":" in text:
        prefix, local = text.split(":", 1)
        if prefix in prefixes:
            return prefixes[prefix] + local
    return None


def _opens_boolean(found: list[tuple[str, str]], as_index: int) -> bool:
    """Return whether the expression before ``AS`` starts with EXISTS, NOT EXISTS, true, false."""
    depth = 0
    for index in range(as_index - 1, -1, -1):
        text = found[index][1]
        if text in (")", "}"):
            depth += 1
        elif text in ("(", "{"):
            if depth == 0:
                first = found[index + 1] if index + 1 < as_index else ("", "")
                return first[0] == "name" and first[1].upper() in BOOLEAN_STARTS
            depth -= 1
    return False
