"""Decide, on the parsed query, whether the endpoint runs it.

The text is parsed with rdflib's SPARQL 1.1 grammar; the checks walk the parse tree, so
no comment, string literal or odd spacing can hide a ``SERVICE`` clause or an update.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from service.errors import QueryRefused, QuerySyntaxError, UpdateRefused

_parsing = threading.Lock()  # the pyparsing grammar is shared by the request threads

FORMS = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the checks: its form and the graphs its FROM clauses name."""

    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_graphs: tuple[str, ...] = field(default=())
    from_named_graphs: tuple[str, ...] = field(default=())

    @property
    def returns_graph(self) -> bool:
        """Return whether the answer is RDF triples (CONSTRUCT, DESCRIBE)."""
        return self.form in ("CONSTRUCT", "DESCRIBE")


def _nodes(node: object) -> Iterator[CompValue]:
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list | tuple | ParseResults):
        for value in node:
            yield from _nodes(value)


def _is_update(sparql: str) -> bool:
    try:
        with _parsing:
            parseUpdate(sparql)
    except ParseException:
        return False
    return True


@lru_cache(maxsize=256)
def check_query(sparql: str) -> CheckedQuery:
    """Parse a query and return its form, or raise why the endpoint refuses it."""
    try:
        with _parsing:
            tree = parseQuery(sparql)
    except ParseException as error:
        if _is_update(sparql):
            raise UpdateRefused(
                "The request holds a SPARQL update; this endpoint is read-only."
            ) from None
        raise QuerySyntaxError(
            f"Syntax error at line {error.lineno}, column {error.col}: {error.msg}",
            line=error.lineno,
            column=error.col,
        ) from None
    query = tree[1]
    for node in _nodes(tree):
        if node.name == "ServiceGraphPattern":
            raise QueryRefused(
                "SERVICE clauses are refused: this endpoint does not query other endpoints "
                "on a client's behalf. Send the query to the other endpoint yourself.",
                reason="service",
            )
    from_graphs = tuple(
        str(d["default"]) for d in query.get("datasetClause") or () if "default" in d
    )
    from_named = tuple(str(d["named"]) for d in query.get("datasetClause") or () if "named" in d)
    return CheckedQuery(FORMS[query.name], from_graphs, from_named)


def check_graphs(iris: Iterable[str], known: Iterable[str]) -> None:
    """Raise QueryRefused when an IRI names no graph of the store (graphs are never fetched)."""
    known = set(known)
    unknown = sorted(set(iris) - known)
    if unknown:
        raise QueryRefused(
            f"{unknown[0]} is not a graph of this store; graphs are never fetched from the "
            "web. The store's graphs are listed in the service description.",
            reason="unknown-graph",
        )
