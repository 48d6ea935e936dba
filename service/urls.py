"""Absolute URLs of the service, built from its configured public base, never from ``Host``.

Descriptions (the service description, VoID, DCAT) are cached by clients and proxies for an
hour; were their URLs taken from the request's ``Host`` header, one forged request could make
a cache advertise someone else's endpoint.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from service.settings import get_settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"  # where `zigraph serve` listens by default


def public_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of a route under ``PUBLIC_URL``."""
    base = (get_settings().public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    return base + url_for(endpoint, **values)


def public_request_url() -> str:
    """Return the absolute URL of the current request under ``PUBLIC_URL``, with its query."""
    base = (get_settings().public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")
