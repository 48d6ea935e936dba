"""What every page module shares: links that keep the query, and the page for what is not here."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, render_template, request

from service.error_handlers import error_response
from service.negotiation import error_format


def url_with(**changes: object) -> str:
    """Return the current page's URL with some query parameters replaced (None drops one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


def not_found(what: str, machine: bool = False) -> Response:
    """Return the 404 for an IRI or path we hold no data about: a page, or data for programs.

    :param machine: the client asked for data (an RDF suffix), whatever its Accept header.
    """
    if machine or error_format() != "html":
        return error_response(
            404, "not-found", f"There is no data about {what}.", "Check the IRI, or search."
        )
    return Response(render_template("pages/not_found.html", what=what), 404)
