"""Decide, on the parsed query, whether the endpoint runs it.

The text is parsed with rdflib's SPARQL 1.1 grammar; the checks walk the parse tree, so
no comment, string literal or odd spacing can hide a ``SERVICE`` clause or an update.

Parsing is itself work a hostile client can make long (rdflib's parser takes about a
millisecond per triple pattern) or deep (it recurses once per nesting level), so it runs in
a checker process of its own, under the query time limit, like an evaluation: a parse that
runs too long is stopped there, and a crash costs that process only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app, has_app_context
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from service.errors import QueryRefused, QuerySyntaxError, UpdateRefused
from service.store.evaluator import EvaluatorPool

CHECKERS = 1  # checker processes per web process: a check is short, and cached
DEFAULT_TIMEOUT = 10.0  # seconds, outside an application


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
        parseUpdate(sparql)
    except (ParseException, RecursionError):
        return False
    return True


_checkers: EvaluatorPool | None = None
_checkers_lock = threading.Lock()


def _checker_pool() -> EvaluatorPool:
    global _checkers
    with _checkers_lock:
        if _checkers is None:
            _checkers = EvaluatorPool(None, size=CHECKERS)
        return _checkers


@lru_cache(maxsize=1024)
def check_query(sparql: str) -> CheckedQuery:
    """Return a query's form and FROM graphs, or raise why the endpoint refuses it.

    The check runs in a checker process within the query time limit; answers are cached
    per process, so a repeated query is checked once.
    """
    timeout = current_app.config["QUERY_TIMEOUT"] if has_app_context() else DEFAULT_TIMEOUT
    return _checker_pool().run("check", float(timeout), sparql=sparql)


def parse_and_check(sparql: str) -> CheckedQuery:
    """Parse a query here and return its form, or raise why the endpoint refuses it."""
    try:
        tree = parseQuery(sparql)  # in a checker process, which parses one query at a time
    except RecursionError:
        raise QueryRefused(
            "The query nests too deeply to be checked; split it into smaller queries.",
            reason="too-deep",
        ) from None
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


def check_request(
    sparql: str,
    default_graph_uris: list[str] | None,
    named_graph_uris: list[str] | None,
    known_graphs: Callable[[], Iterable[str]],
) -> tuple[CheckedQuery, list[str]]:
    """Check a query and every graph it or the request names; return both."""
    checked = check_query(sparql)
    named = [
        *(default_graph_uris or ()),
        *(named_graph_uris or ()),
        *checked.from_graphs,
        *checked.from_named_graphs,
    ]
    if named:
        check_graphs(named, known_graphs())
    return checked, named


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
