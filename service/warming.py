"""The home page, rendered by each web process for each data version before a visitor asks.

Every visitor's first page is the home page, and rendering it is the costliest first visit of
a data version: at a million triples, over a Virtuoso that had not read those entities yet, its
first visit took 0.74-0.92 s in two benchmark runs (from a warm store, by hand: 0.25 s). So a
web process renders it in each language once the pages can be rendered (its statistics made),
and again when the data version changes (``zigraph push`` into a remote store); the page cache
keeps it (``service.page_cache``: in memory, and in the page files the web processes share),
and the first visitor is answered from there.

The rendering runs the route's own view function in a request context of its own, in a
background thread of the process, with the query time limit of any request: no HTTP request
is made, nothing is counted in ``/metrics``, and a failure is retried, then logged.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from service.errors import ZigraphError
from service.i18n import LANGUAGES
from service.store import get_store

log = logging.getLogger(__name__)
WARMED = (("browse.home", "/"),)  # (endpoint, path) of the pages rendered ahead
RETRY_SECONDS = 2.0  # between attempts while the pages cannot be rendered yet
VERSION_SECONDS = 30.0  # between looks at the data version once its pages are rendered
GIVE_UP_SECONDS = 900.0  # a version whose pages could not be rendered for this long is left


def warm_pages(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Start the thread that renders the WARMED pages of each data version (until ``stop`` is
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
            log.exception("the home page was not rendered ahead")
        if tried_since is not None and time.monotonic() - tried_since > GIVE_UP_SECONDS:
            log.warning(
                "the home page of data version %s could not be rendered ahead; "
                "its first visitor renders it",
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


def render_warmed(app: Flask) -> bool:
    """Render each WARMED page in each language into the page cache; return whether every one
    was rendered (a 200), or was there already."""
    with app.app_context():
        try:  # what the home page needs, made in the background after a load
            get_store().statistics()
        except ZigraphError:
            return False
    done = True
    for endpoint, path in WARMED:
        for language in LANGUAGES:
            headers = {"Accept": "text/html", "Accept-Language": language}
            with app.test_request_context(path, headers=headers):
                try:
                    view = app.ensure_sync(app.view_functions[endpoint])
                    response = app.make_response(view())
                except ZigraphError as error:  # the store is away, the pages not ready yet
                    log.debug("the page %s was not rendered ahead: %s", path, error)
                    done = False
                    continue
            done = done and response.status_code == 200
    return done
