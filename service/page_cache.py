"""Entity pages, documents and redirects, kept by each web process while the data lasts.

The data of an embedded store cannot change while the process runs, so a page rendered once
is exactly what rendering again would give. A page is keyed by everything that decides its
bytes: the data version, the URL's path and query string, the reader's language and the
negotiated representation (HTML or one RDF format). The key also gives the page's strong
ETag, so a client revalidating with ``If-None-Match`` gets a 304 without any rendering.

A remote store's pages are kept per version of the record ``zigraph push`` wrote beside its
graphs; one without a record (``fixed_version`` is None) has its pages rendered every time,
as its ``/sparql`` answers are evaluated.

The pages share the bookkeeping of the answer cache (``service.answer_cache``) in a cache of
their own, sized by ``page_cache_mb`` (0 disables it). Pages (200) and the 303s of entity
IRIs to them are kept; errors, a 404 included, are not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from service.answer_cache import Answer, AnswerCache, not_modified, process_cache
from service.errors import NotAcceptable
from service.i18n import get_language
from service.negotiation import html_or_rdf
from service.security import CACHE_HEADER
from service.store import get_store

KEPT_STATUSES = (200, 303)  # a page, and an entity IRI's redirect to it; never an error


@dataclass(frozen=True)
class PageKey:
    """What decides the bytes of a page."""

    version: str
    url: str  # the script root, path and query string
    language: str
    representation: str  # text/html, an RDF media type, or "none" when nothing fits

    def etag(self) -> str:
        """Return the strong ETag of the page of this key (the same in every process)."""
        parts = json.dumps(
            [self.version, self.url, self.language, self.representation], ensure_ascii=False
        )
        return f"{self.version}-{hashlib.sha256(parts.encode()).hexdigest()[:32]}"

    def weight(self) -> int:
        """Return the bytes of text the key holds."""
        return len(self.url) + len(self.representation)


def get_page_cache() -> AnswerCache:
    """Return this process's page cache, sized by the setting ``page_cache_mb``."""
    megabytes = current_app.extensions["zigraph.settings"].page_cache_mb
    return process_cache("zigraph.pages", megabytes)


def page_key() -> PageKey | None:
    """Return the key of the requested page, or None when the store's data may change."""
    version = get_store().fixed_version()
    if version is None:
        return None
    try:
        fmt = html_or_rdf()
        representation = "text/html" if fmt is None else fmt.media_type
    except NotAcceptable:  # a URL with an RDF suffix is still answered, whatever the Accept
        representation = "none"
    url = request.script_root + request.path + "?" + request.query_string.decode("latin-1")
    return PageKey(version, url, get_language(), representation)


def cached_page(render: Callable[[], BaseResponse], revalidate: bool = True) -> BaseResponse:
    """Answer the requested page from the cache, or render it and keep it if it is a 200 or 303.

    :param revalidate: give the page an ETag and answer a matching ``If-None-Match`` with 304
        (a document; not a redirect, whose target is what a client revalidates).
    """
    key = page_key()
    if key is None:
        return render()
    etag = key.etag() if revalidate else None
    response: BaseResponse
    if etag is not None and request.if_none_match.contains_weak(etag):
        response = not_modified()
    else:
        cache = get_page_cache()
        cached = cache.get(key)
        if cached is not None:
            response = Response(cached.body, cached.status, list(cached.headers))
            response.headers[CACHE_HEADER] = "hit"
        else:
            response = render()
            if response.status_code not in KEPT_STATUSES:
                return response
            if etag is not None:
                response.set_etag(etag)
            headers = tuple(response.headers.items())
            body = response.get_data()
            cache.put(key, Answer(body, response.mimetype or "", headers, response.status_code))
            response.headers[CACHE_HEADER] = "miss"
    if etag is not None:
        response.set_etag(etag)
    return response
