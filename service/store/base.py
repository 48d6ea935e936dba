"""The types every store backend shares: ``QueryResult``, the ``Backend`` interface, the deadline.

A backend module imports this one, never the package: the package (``get_store``) opens
the backends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Literal, Protocol

import pyoxigraph as ox
from flask import g, has_app_context, has_request_context

from service.settings import get_settings
from service.terms import Term

if TYPE_CHECKING:
    from service.export import RdfSerialization
    from service.queryparser import ParsedQuery
    from service.store.evaluator import EvaluatorPool

DEFAULT_TIMEOUT = 10.0  # seconds, outside an application

ResultKind = Literal["bindings", "boolean", "graph"]


@dataclass
class QueryResult:
    """The answer to one query: solutions, a boolean or triples, and whether it was capped."""

    kind: ResultKind
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False

    def dicts(self) -> list[dict[str, Term]]:
        """Return the rows as dictionaries from variable name to bound term (unbound left out)."""
        return [
            {v: t for v, t in zip(self.variables, row, strict=True) if t is not None}
            for row in self.rows
        ]


class Backend(Protocol):
    """What every store backend offers the routes.

    ``query`` takes either a client's query, read and checked (a ``ParsedQuery``: its
    canonical text is what the store is sent, in the clients' lane with the per-client
    bound), or the service's own query text (the service's lane, never waiting behind
    clients).
    """

    name: str  # "embedded" or "remote"
    location: str  # the store folder or the endpoint URL

    def query(
        self,
        query: ParsedQuery | str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
        client: str | None = None,
    ) -> QueryResult: ...

    def prefetch(self, texts: list[str]) -> None: ...

    def reading_pool(self) -> EvaluatorPool: ...

    def quads(self) -> list[ox.Quad]: ...

    def dump(self, fmt: RdfSerialization, output: IO[bytes]) -> None: ...

    def statistics(self) -> dict: ...

    def class_members(
        self, cls: str, start: int, count: int, descending: bool = False
    ) -> list[str] | None: ...

    def graphs(self) -> list[str]: ...

    def metadata(self) -> dict: ...

    def fixed_version(self) -> str | None: ...

    def health(self) -> dict: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


def prefetched(text: str) -> QueryResult | None:
    """Return the answer to the service's query ``text`` that this request prefetched, if any.

    Each caller gets lists of its own, so one that changes them changes no other's answer.
    """
    if not has_request_context():
        return None
    answer = g.get("zigraph_prefetched", {}).get(text)
    if answer is None:
        return None
    return replace(answer, rows=list(answer.rows), triples=list(answer.triples))


def keep_prefetched(answers: Iterable[tuple[str, QueryResult | None]]) -> None:
    """Keep answers to the service's queries for the rest of this request (None: not kept)."""
    if not has_request_context():
        return
    kept = g.setdefault("zigraph_prefetched", {})
    kept.update((text, answer) for text, answer in answers if answer is not None)


def expect(texts: Iterable[str]) -> None:
    """Note service queries this request will ask, some of them more than once.

    A backend that cannot send them ahead (a SPARQL endpoint takes one query a request)
    keeps each answer when it is first asked (``expected``), for the rest of the request.
    """
    if has_request_context():
        g.setdefault("zigraph_expected", set()).update(texts)


def expected(text: str) -> bool:
    """Return whether this request noted the service's query ``text`` (``expect``)."""
    return has_request_context() and text in g.get("zigraph_expected", ())


def request_deadline() -> float:
    """Return the ``time.monotonic()`` by which the current request's queries must end."""
    if has_request_context() and "zigraph_deadline" in g:
        return g.zigraph_deadline
    timeout = get_settings().query_timeout if has_app_context() else DEFAULT_TIMEOUT
    return time.monotonic() + timeout
