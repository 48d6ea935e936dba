"""Entity pages, documents and redirects, kept by each web process while the data lasts.

The data of an embedded store cannot change while the process runs, so a page rendered once
is exactly what rendering again would give. A page is keyed by everything that decides its
bytes: the data version, the URL's path and query string, the negotiated representation (HTML
or one RDF format) and, for HTML, the reader's language. The key also gives the page's strong
ETag, so a client revalidating with ``If-None-Match`` gets a 304 without any rendering.

A remote store's pages are kept per version of the record ``zigraph push`` wrote beside its
graphs; one without a record (``fixed_version`` is None) has its pages rendered every time,
as its ``/sparql`` answers are evaluated.

The pages share the bookkeeping of the answer cache (``service.answer_cache``) in a cache of
their own, sized by ``page_cache_mb`` (0 disables it). Pages (200) and the 303s of entity
IRIs to them are kept; errors, a 404 included, are not.

Each web process keeps its own pages in memory, and (``shared_pages``) writes each page it
renders to a file named by its ETag in ``pages/`` of the dump folder, which every web process
of the same store reads: a page rendered by one is not rendered again by another (at a million
triples a page takes about 10 ms of CPU to render, a file a fraction of a millisecond). A file is
written under a temporary name and renamed, so it is always whole; a process writes at most
``page_cache_mb`` of them a data version, and files of another version or scope (below) go
an hour after their writing, as dumps do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from service.answer_cache import Answer, AnswerCache, not_modified, process_cache
from service.downloads import dump_folder
from service.errors import NotAcceptable
from service.i18n import get_language
from service.negotiation import html_or_rdf
from service.security import CACHE_HEADER
from service.settings import Settings
from service.store import get_store

log = logging.getLogger(__name__)
KEPT_STATUSES = (200, 303)  # a page, and an entity IRI's redirect to it; never an error
PAGE_FILE_MAGIC = b"zigraph page 1\n"
STALE_PAGE_SECONDS = 3600  # another version's page files go this long after their writing
_opening = threading.Lock()


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
    # Only HTML is in the reader's language: a document in an RDF format holds every language.
    language = get_language() if representation == "text/html" else ""
    return PageKey(version, url, language, representation)


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
        if cached is None and (cached := read_shared(key)) is not None:
            cache.put(key, cached)
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
            page = Answer(body, response.mimetype or "", headers, response.status_code)
            cache.put(key, page)
            write_shared(key, page)
            response.headers[CACHE_HEADER] = "miss"
    if etag is not None:
        response.set_etag(etag)
    return response


class SharedPages:
    """The page files of one folder this process wrote, counted against its budget.

    A file is named by the page's ETag and ``scope``: a digest of the settings (a publisher
    named differently changes the pages) and of the parent process, which is gunicorn's
    master for every web process of one ``zigraph serve`` (a restart, perhaps of a newer
    zigraph, renders its pages afresh).
    """

    def __init__(self, folder: Path, budget: int, settings: Settings) -> None:
        self.folder = folder
        self.budget = budget
        self.scope = hashlib.sha256(f"{settings!r} {os.getppid()}".encode()).hexdigest()[:12]
        self.written: dict[str, int] = {}  # bytes written, per data version
        self.lock = threading.Lock()


def shared_pages() -> SharedPages | None:
    """Return this process's view of the page files the web processes share (None: off)."""
    app = current_app
    settings = app.extensions["zigraph.settings"]
    if not settings.shared_pages or not settings.page_cache_mb:
        return None
    shared = app.extensions.get("zigraph.shared_pages")
    if shared is None:
        with _opening:
            shared = app.extensions.get("zigraph.shared_pages")
            if shared is None:
                shared = app.extensions["zigraph.shared_pages"] = open_shared(settings)
    return shared if isinstance(shared, SharedPages) else None


def open_shared(settings: Settings) -> SharedPages | bool:
    """Return a view of the folder of shared pages, or False where it cannot be written."""
    folder = dump_folder() / "pages"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        log.warning("pages are not shared between web processes: %s", error)
        return False
    return SharedPages(folder, int(settings.page_cache_mb * 2**20), settings)


def read_shared(key: PageKey) -> Answer | None:
    """Return the page another web process rendered for ``key``, or None."""
    shared = shared_pages()
    if shared is None:
        return None
    try:
        with (shared.folder / f"{key.etag()}-{shared.scope}").open("rb") as file:
            if file.readline() != PAGE_FILE_MAGIC:
                return None
            head = json.loads(file.readline())
            body = file.read()
    except (OSError, ValueError):
        return None
    headers = tuple((name, value) for name, value in head["headers"])
    return Answer(body, head["media_type"], headers, head["status"])


def write_shared(key: PageKey, page: Answer) -> None:
    """Write a page this process rendered for the other web processes, within the budget."""
    shared = shared_pages()
    if shared is None:
        return
    head = {"status": page.status, "media_type": page.media_type, "headers": page.headers}
    data = PAGE_FILE_MAGIC + json.dumps(head).encode() + b"\n" + page.body
    with shared.lock:
        first = key.version not in shared.written
        if shared.written.get(key.version, 0) + len(data) > shared.budget:
            return
        shared.written[key.version] = shared.written.get(key.version, 0) + len(data)
    path = shared.folder / f"{key.etag()}-{shared.scope}"
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
        if first:
            remove_stale(shared.folder, key.version, shared.scope)
    except OSError as error:
        log.warning("cannot share a page with the other web processes: %s", error)
        partial.unlink(missing_ok=True)


def remove_stale(folder: Path, version: str, scope: str) -> None:
    """Remove the page files of other data versions or scopes written over an hour ago."""
    for old in folder.iterdir():
        try:
            current = old.name.startswith(f"{version}-") and old.name.endswith(f"-{scope}")
            if not current and time.time() - old.stat().st_mtime > STALE_PAGE_SECONDS:
                old.unlink()
        except OSError:
            continue
