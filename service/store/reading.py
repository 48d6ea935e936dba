"""Read a client's query: in the web thread when it is short, in an evaluator when it is long.

Reading costs about 2 µs a byte at worst, so a body of the largest size the endpoint takes
would hold a web thread for a second or more. Bodies over ``INLINE_BYTES`` are read in one of
the backend's evaluator processes instead (``Backend.reading_pool``): under the request's
deadline, killed with it, counted against the client's bound, and with no network.
"""

from __future__ import annotations

from service import querysafety
from service.errors import ZigraphError
from service.queryparser import ParsedQuery
from service.store import get_store, request_deadline
from service.urls import public_url


def read_in_evaluator(store: object, sparql: str, base: str) -> ParsedQuery:
    """Read and check a query in an evaluator process (``store`` is not used)."""
    return querysafety.check_query(sparql, base)


def read_client_query(sparql: str, client: str | None) -> ParsedQuery:
    """Return a client's query, read and checked, or raise why the endpoint refuses it.

    Relative IRIs of a query without BASE resolve against the endpoint's public URL, as the
    SPARQL protocol allows.
    """
    base = public_url("sparql.query")
    if len(sparql) <= querysafety.INLINE_BYTES or querysafety.decided(sparql, base):
        return querysafety.check_query(sparql, base)
    pool = get_store().reading_pool()
    try:
        parsed = pool.run(
            read_in_evaluator, request_deadline(), client=client, sparql=sparql, base=base
        )
    except ZigraphError as error:
        if error.status < 500:  # a refusal of the query, not a failure of the evaluator
            querysafety.remember(sparql, error, base)
        raise
    querysafety.remember(sparql, parsed, base)
    return parsed
