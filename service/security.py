"""The headers every answer carries, and the limits every request meets, in one place.

The same security headers go on the application's answers and on the few answers gunicorn
writes itself before the application sees a request (``service.server``).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestURITooLarge

from service.settings import get_settings

# Headers of /sparql answers that a web page on another origin may read.
TRUNCATED_HEADER = "X-Zigraph-Result-Truncated"
LIMIT_HEADER = "X-Zigraph-Result-Limit"
CACHE_HEADER = "X-Zigraph-Cache"

# Every HTML page forbids inline scripts and styles, framing and off-site resources.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def secure(response: Response) -> Response:
    """Add the security headers: all of them to pages, ``nosniff`` to every answer."""
    for name, value in SECURITY_HEADERS.items():
        if name == "X-Content-Type-Options" or response.mimetype == "text/html":
            response.headers.setdefault(name, value)
    return response


def refuse_long_urls() -> None:
    """Answer 414 to any URL whose query string is over ``max_url_length`` (every route)."""
    limit = get_settings().max_url_length
    if len(request.query_string) > limit:
        raise RequestURITooLarge(
            f"The URL's query string is longer than {limit} bytes; send long queries with POST."
        )


def allow_cross_origin(response: Response) -> Response:
    """Let any web page read the answer (no credentials), and answer CORS preflights."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = (
        f"{TRUNCATED_HEADER}, {LIMIT_HEADER}, {CACHE_HEADER}, ETag, Last-Modified, Link, "
        "Retry-After"
    )
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def init_app(app: Flask) -> None:
    """Apply the URL limit to every request and the security headers to every answer."""
    app.before_request(refuse_long_urls)
    app.after_request(secure)
