"""How every error becomes an HTTP answer, in one place.

Every error answers in the format the client prefers: JSON for programs
(``{"error": code, "message": text, "status": n}``), plain text, or an HTML page for
browsers. Messages are data, never markup: the page escapes them like any template value.
"""

from __future__ import annotations

import json

from flask import Flask, Response, render_template
from werkzeug.exceptions import HTTPException

from service.errors import ZigraphError
from service.i18n import error_message, http_message
from service.metrics import count_error_answer
from service.negotiation import error_format


def error_response(
    status: int,
    code: str,
    message: str,
    hint: str = "",
    page_message: str | None = None,
    page_detail: bool = True,
    **details,
) -> Response:
    """Return an error answer in the client's preferred format.

    :param page_message: what a page says first, in the reader's language (the message, which
        may quote a parser, follows it as written).
    :param page_detail: whether a page shows the message under ``page_message`` (not when it
        says the same in English only).
    """
    fmt = error_format()
    if fmt == "html":
        body = render_template(
            "error.html",
            status=status,
            code=code,
            summary=page_message,
            message=message if page_detail or not page_message else None,
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
    count_error_answer(error.code, error.details.get("reason", ""))
    response = error_response(
        error.status,
        error.code,
        error.message,
        error.hint,
        page_message=error_message(error.code),
        page_detail=True,
        **error.details,
    )
    response.headers.update(error.headers())
    return response


def handle_http_error(error: HTTPException) -> Response:
    code = (error.name or "error").lower().replace(" ", "-")
    count_error_answer(code)
    response = error_response(
        error.code or 500,
        code,
        error.description or error.name,
        page_message=http_message(error.code or 500),
        # Werkzeug's own sentence says in English what the catalogue's says in the reader's
        # language; a description of ours (which dumps exist, the URL limit) says more.
        page_detail=error.description != type(error).description,
    )
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Answer domain errors and HTTP errors in the client's format."""
    app.register_error_handler(ZigraphError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
