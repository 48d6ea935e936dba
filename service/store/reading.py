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


def read_in_evaluator(store: object, sparql: str) -> ParsedQuery:
    """Read and check a query in an evaluator process (``store`` is not used)."""
    return querysafety.check_query(sparql)


def read_client_query(sparql: str, client: str | None) -> ParsedQuery:
    """Return a client's query, read and checked, or raise why the endpoint refuses it."""
    if len(sparql) <= querysafety.INLINE_BYTES or querysafety.decided(sparql) is not None:
        return querysafety.check_query(sparql)
    pool = get_store().reading_pool()
    try:
        parsed = pool.run(read_in_evaluator, request_deadline(), client=client, sparql=sparql)
    except ZigraphError as error:
        if error.status < 500:  # a refusal of the query, not a failure of the evaluator
            querysafety.remember(sparql, error)
        raise
    querysafety.remember(sparql, parsed)
    return parsed
