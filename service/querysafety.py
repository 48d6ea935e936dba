"""Decide whether the endpoint runs a client's query, and what text the store is sent.

Two layers keep a client's query from reaching the network. Where the embedded store
evaluates queries, the evaluators have no network at all (``service.store.isolation``). In
front of every store, embedded or remote, each client query is read once by a parser that
follows the SPARQL grammar (``service.queryparser``), which refuses ``SERVICE``, updates,
functions that are neither SPARQL's own nor XSD casts, and nesting deeper than its limit,
and writes the query again as canonical text. The store is sent that text, never the
client's, so a store never reads a character the parser read differently.

Decisions, refusals included, are kept per process under a digest of the query text, so a
repeated query costs a hash; they take at most ``DECISION_CACHE_BYTES``. Reading a query
costs about 2 µs a byte at worst: bodies over ``INLINE_BYTES`` are read in an evaluator
process (``service.store.reading``), under the request's deadline, not in a web thread.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable

from cachetools import LRUCache

from service.errors import QueryRefused, QuerySyntaxError, ZigraphError
from service.queryparser import ParsedQuery, parse_query

DECISION_CACHE_BYTES = 4 * 2**20  # decisions kept per process, keyed by a digest of the query
# Bodies up to this size are read in the web thread (at most about 45 ms on the worst input
# measured, bench/check_cost.py); longer ones in an evaluator process, under the deadline.
INLINE_BYTES = 16 * 1024


def _decision_size(decision: ParsedQuery | tuple) -> int:
    if isinstance(decision, ParsedQuery):
        held = len(decision.text) + len(decision.unordered or "")
        return 400 + 2 * held + sum(100 + len(iri) for iri in decision.iris)
    return 200 + len(repr(decision))  # the key, the objects and the texts they hold


_decisions: LRUCache = LRUCache(maxsize=DECISION_CACHE_BYTES, getsizeof=_decision_size)
_decisions_lock = threading.Lock()


def decision_key(sparql: str, base: str = "") -> bytes:
    """Return the key a query's decision is cached under: a digest of its text and base."""
    digest = hashlib.blake2b(base.encode("utf-8", "surrogatepass"), digest_size=32)
    digest.update(b"\0" + sparql.encode("utf-8", "surrogatepass"))
    return digest.digest()


def _raise_or_return(decision: ParsedQuery | tuple) -> ParsedQuery:
    if isinstance(decision, tuple):
        kind, message, details = decision
        raise kind(message, **details)
    return decision


def decided(sparql: str, base: str = "") -> ParsedQuery | tuple | None:
    """Return the decision kept for a query (a refusal as data), or None if there is none."""
    with _decisions_lock:
        return _decisions.get(decision_key(sparql, base))


def remember(sparql: str, decision: ParsedQuery | ZigraphError, base: str = "") -> None:
    """Keep a decision made elsewhere (in an evaluator process) for this query's text."""
    if isinstance(decision, ZigraphError):
        kept: ParsedQuery | tuple = (type(decision), decision.message, decision.details)
    else:
        kept = decision
    with _decisions_lock:
        _decisions[decision_key(sparql, base)] = kept


def check_query(sparql: str, base: str = "") -> ParsedQuery:
    """Return a client query as read and checked, or raise why the endpoint refuses it.

    :param base: the IRI relative IRIs resolve against when the query has no BASE.
    """
    decision = decided(sparql, base)
    if decision is None:
        try:
            decision = parse_query(sparql, base=base)
            if not decision.form:
                raise QuerySyntaxError(
                    "The request holds no SELECT, CONSTRUCT, DESCRIBE or ASK query.",
                    line=1,
                    column=1,
                )
        except ZigraphError as refusal:  # kept as data: each request raises its own error
            remember(sparql, refusal, base)
            raise
        remember(sparql, decision, base)
    return _raise_or_return(decision)


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


def check_request(
    checked: ParsedQuery,
    default_graph_uris: list[str] | None,
    named_graph_uris: list[str] | None,
    known_graphs: Callable[[], Iterable[str]],
) -> list[str]:
    """Check every graph a checked query or its request names; return them."""
    named = [
        *(default_graph_uris or ()),
        *(named_graph_uris or ()),
        *checked.from_graphs,
        *checked.from_named_graphs,
    ]
    if named:
        check_graphs(named, known_graphs())
    return named
