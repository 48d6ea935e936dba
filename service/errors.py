"""Domain errors of the service and how each becomes an HTTP answer, in one place.

Every error answers in the format the client prefers: JSON for programs
(``{"error": code, "message": text, "status": n}``), plain text, or an HTML page for
browsers. Messages are data, never markup: the page escapes them like any template value.
"""

from __future__ import annotations

import json
import re

from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException

from service.i18n import error_message, http_message


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


class BackendError(ZigraphError):
    """The remote store answered, but not with a usable result."""

    status = 502
    code = "store-error"


def error_response(
    status: int, code: str, message: str, hint: str = "", page_message: str | None = None, **details
) -> Response:
    """Return an error answer in the client's preferred format.

    :param page_message: what a page says first, in the reader's language (the message, which
        may quote a parser, follows it as written).
    """
    from service.negotiation import error_format  # negotiation imports this module

    fmt = error_format()
    if fmt == "html":
        body = render_template(
            "error.html",
            status=status,
            code=code,
            summary=page_message,
            message=message,
            hint=hint,
        )
        response = Response(body, status, mimetype="text/html")
    elif fmt == "text":
        text = f"{status} {code}: {message}\n" + (f"{hint}\n" if hint else "")
        response = Response(text, status, mimetype="text/plain")
    else:
        document = {"error": code, "message": message, "status": status, **details}
        if hint:
            document["hint"] = hint
        response = Response(json.dumps(document, ensure_ascii=False) + "\n", status)
        response.mimetype = "application/json"
    response.vary.add("Accept")
    return response


def handle_domain_error(error: ZigraphError) -> Response:
    response = error_response(
        error.status,
        error.code,
        error.message,
        error.hint,
        page_message=error_message(error.code),
        **error.details,
    )
    response.headers.update(error.headers())
    return response


def handle_http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "-")
    response = error_response(
        error.code or 500,
        code,
        error.description or error.name,
        page_message=http_message(error.code or 500),
    )
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Answer domain errors and HTTP errors in the client's format."""
    app.register_error_handler(ZigraphError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
