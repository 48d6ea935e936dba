"""The home page, the hubs' pages and the first page of each large class, rendered by each web
process for each data version before a visitor asks.

Every visitor's first page is the home page, and the costliest first visits of a data version
are the home page and the documents of its hubs, the entities most linked to (the ministry
that confers every designation, each designation): at a million triples, over a Virtuoso that
had not read them yet, the home page's first visit took 0.74-0.92 s and the ministry's page
0.47-0.74 s in benchmark runs. So a web process renders them once the pages can be rendered
(its statistics made, which name the hubs), and again when the data version changes
(``zigraph push`` into a remote store): the home page and each hub's page in each language,
and each hub's document in Turtle. The first page of a class too large to sort by label is read
from the lists an embedded store saved when built, and from the ends of them a record of
``zigraph push`` holds; over a store whose record has none (an older push), it is the store's
ORDER BY of every member (0.7-0.9 s for the Oxigraph server at a million triples), so it is
rendered ahead in each language as well. The page cache keeps them (``service.page_cache``: in
memory, and in the page files the web processes share, so a page one process rendered the
other reads), and the first visitor is answered from there.

The rendering runs the route's own view function in a request context of its own, in a
background thread of the process, with the query time limit of any request: no HTTP request
is made, nothing is counted in ``/metrics``, and a failure is retried, then logged.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlencode

from flask import Flask, request

from service.errors import ZigraphError
from service.i18n import LANGUAGES
from service.pages.browse import LABEL_SORTED_MEMBERS
from service.pages.labels import base_iri
from service.store import get_store

log = logging.getLogger(__name__)
HTML = "text/html"
DOCUMENT = "text/turtle"  # the format a hub's document is rendered ahead in
RETRY_SECONDS = 2.0  # between attempts while the pages cannot be rendered yet
VERSION_SECONDS = 30.0  # between looks at the data version once its pages are rendered
GIVE_UP_SECONDS = 900.0  # a version whose pages could not be rendered for this long is left


def warm_pages(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Start the thread that renders the ``warmed_pages`` of each data version (until ``stop`` is
    set, if given); return it."""
    thread = threading.Thread(
        target=_keep_warm, args=(app, stop or threading.Event()), name="zigraph-warm", daemon=True
    )
    thread.start()
    return thread


def _keep_warm(app: Flask, stop: threading.Event) -> None:
    warmed: str | None = None  # the version whose pages are rendered
    tried_since: float | None = None
    while not stop.is_set():
        try:
            version = _version(app)
            if version is None or version == warmed:
                stop.wait(VERSION_SECONDS if version is not None else RETRY_SECONDS)
                continue
            tried_since = tried_since or time.monotonic()
            if render_warmed(app):
                warmed, tried_since = version, None
                continue
        except Exception:  # never the end of the thread: the next look may do
            log.exception("the pages were not rendered ahead")
        if tried_since is not None and time.monotonic() - tried_since > GIVE_UP_SECONDS:
            log.warning(
                "the pages of data version %s could not be rendered ahead; "
                "their first visitors render them",
                version,
            )
            warmed, tried_since = version, None
            continue
        stop.wait(RETRY_SECONDS)


def _version(app: Flask) -> str | None:
    """Return the data version pages are kept for, or None (none, or the store is away)."""
    with app.app_context():
        try:
            return get_store().fixed_version()
        except ZigraphError:
            return None


def warmed_pages() -> list[tuple[str, str, str | None]]:
    """Return the pages rendered ahead as (path, media type, language: None for every one):
    the home page, each hub's page and document, and the first page of each class the store
    sorts itself."""
    pages: list[tuple[str, str, str | None]] = [("/", HTML, None)]
    base = base_iri()
    store = get_store()
    statistics = store.statistics()
    for iri, _ in statistics["hubs"]:
        if iri.startswith(base) and len(iri) > len(base):
            path = "/doc/" + iri[len(base) :]
            pages += [(path, HTML, None), (path, DOCUMENT, "")]
    classes = statistics["data_classes"]["members"].items()
    for cls, members in sorted(classes, key=lambda item: (-item[1], item[0])):  # largest first
        if members > LABEL_SORTED_MEMBERS and store.class_members(cls, 0, 1) is None:
            pages.append(("/browse/class?" + urlencode({"iri": cls}), HTML, None))
    return pages


def render_warmed(app: Flask) -> bool:
    """Render each page of ``warmed_pages`` into the page cache; return whether every one was
    rendered (a 200), or was there already."""
    with app.app_context():
        try:  # what the pages need (the hubs' names too), made in the background after a load
            pages = warmed_pages()
        except ZigraphError:
            return False
    done = True
    for path, media_type, language in pages:
        for each in LANGUAGES if language is None else [language]:
            headers = {"Accept": media_type, "Accept-Language": each}
            with app.test_request_context(path, headers=headers):
                try:
                    rule, arguments = request.url_rule, request.view_args or {}
                    if rule is None or rule.endpoint is None:
                        log.warning("no route for the page %s", path)
                        continue
                    view = app.ensure_sync(app.view_functions[rule.endpoint])
                    response = app.make_response(view(**arguments))
                except ZigraphError as error:  # the store is away, the pages not ready yet
                    log.debug("the page %s was not rendered ahead: %s", path, error)
                    done = False
                    continue
            done = done and response.status_code == 200
    return done
