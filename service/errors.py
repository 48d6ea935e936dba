"""Domain errors of the service: each a small class with its HTTP status, code and hint.

Any layer raises them; ``service.error_handlers`` turns them into answers.
"""

from __future__ import annotations

import re


class ZigraphError(Exception):
    """A failure the service explains to its client; subclasses fix the status and code."""

    status = 500
    code = "internal-error"
    hint = ""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    retry_after: int | None = None  # seconds a client should wait before trying again

    def headers(self) -> dict[str, str]:
        """Return extra response headers this error carries."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class QuerySyntaxError(ZigraphError):
    """The query is not SPARQL 1.1."""

    status = 400
    code = "query-syntax"
    hint = "Correct the query at the position given and send it again."

    @classmethod
    def from_engine(cls, text: str) -> QuerySyntaxError:
        """Return the error for an engine's message, with its line and column when it has them."""
        match = re.match(r"error at (\d+):(\d+): (.*)", text, re.DOTALL)
        if match is None:
            return cls(f"Syntax error: {text}")
        line, column, reason = int(match.group(1)), int(match.group(2)), match.group(3)
        return cls(
            f"Syntax error at line {line}, column {column}: {reason}", line=line, column=column
        )


class MissingQuery(ZigraphError):
    """A request needs a query and has none."""

    status = 400
    code = "missing-query"
    hint = "Send the query in the 'query' parameter or as an application/sparql-query body."


class QueryRefused(ZigraphError):
    """The query is valid SPARQL but asks for something this endpoint does not do."""

    status = 400
    code = "query-refused"


class UpdateRefused(ZigraphError):
    """An update was sent to the read-only endpoint."""

    status = 403
    code = "read-only"
    hint = "This endpoint answers queries only; the dataset changes through its curated files."


class NotAcceptable(ZigraphError):
    """No format the client accepts can hold this answer."""

    status = 406
    code = "not-acceptable"

    def __init__(self, message: str, offered: list[str]) -> None:
        super().__init__(message, offered=offered)
        self.hint = "Accept one of: " + ", ".join(offered)


class QueryTimeout(ZigraphError):
    """The query ran longer than the time limit and was stopped."""

    status = 503
    code = "query-timeout"
    hint = "Narrow the query (fewer patterns, a LIMIT) or download the dataset dump."
    retry_after = 5


class EndpointBusy(ZigraphError):
    """Every query evaluator is busy and none freed up in time."""

    status = 503
    code = "busy"
    hint = "Try again in a few seconds."
    retry_after = 5


class TooManyQueries(ZigraphError):
    """One client address has as many queries running or waiting as it may."""

    status = 429
    code = "too-many-queries"
    hint = "Wait for the answers to your earlier queries, then send this one again."
    retry_after = 2


class EvaluatorCrashed(ZigraphError):
    """The process evaluating the query died; a new one has been started."""

    status = 500
    code = "evaluator-crashed"
    hint = (
        "The process evaluating the query was stopped (from outside, or while it started); "
        "try again shortly."
    )


class EngineFailed(EvaluatorCrashed):
    """The query engine died on this query; the same query is refused at once from then on.

    A 500: the query is valid and the fault is the server's (its engine, or the memory an
    evaluator may use), not the client's, which a 4xx such as 422 would claim.
    """

    code = "engine-failed"
    hint = (
        "The query engine cannot evaluate this query on this data, and will fail the same way "
        "again. The same question asked another way may work: for example without ORDER BY, "
        "or building smaller values."
    )


class BackendUnavailable(ZigraphError):
    """The store cannot be reached."""

    status = 503
    code = "store-unavailable"
    hint = "Try again later."
    retry_after = 10


class StorePreparing(BackendUnavailable):
    """The store answers queries, but what this page needs is still being made from it."""

    code = "store-preparing"
    hint = (
        "The data was loaded moments ago; its statistics and search index are being made. "
        "Try again in a few seconds (SPARQL queries are answered meanwhile)."
    )
    retry_after = 5


class BackendError(ZigraphError):
    """The remote store answered, but not with a usable result."""

    status = 502
    code = "store-error"
