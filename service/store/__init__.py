"""The store behind the service, reached through one accessor: ``get_store()``.

Backends: ``embedded`` (an Oxigraph store on disk, default) and ``remote`` (any SPARQL 1.1
endpoint). Both answer :class:`QueryResult` objects holding pyoxigraph terms.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

from flask import Flask, current_app, g

from service.errors import BackendUnavailable
from service.settings import Settings, get_settings
from service.store.base import Backend, QueryResult, request_deadline
from service.store.evaluator import find_allocator, preload_allocator

__all__ = ["Backend", "QueryResult", "get_store", "init_app", "request_deadline"]

log = logging.getLogger(__name__)
_opening = threading.Lock()  # threads of one web process share one backend
_isolation: dict[str, str | None] = {}  # the probe's answer, per preferred mode


def evaluator_isolation(preferred: str = "auto", allow_networked: bool = False) -> str:
    """Return how evaluators are kept off the network here, or raise when they cannot be.

    :param allow_networked: run evaluators with the network when no way works (``none``).
    """
    from service.store import isolation

    if preferred not in _isolation:
        _isolation[preferred] = isolation.probe(preferred)
    mode = _isolation[preferred]
    if mode is not None:
        return mode
    if allow_networked:
        log.warning(
            "query evaluators run WITH network access: this kernel allows neither a network "
            "namespace nor a seccomp filter, and ZIGRAPH_ALLOW_NETWORKED_EVALUATORS is set; "
            "only the query parser's refusals stand between a client and an outbound connection"
        )
        return "none"
    raise BackendUnavailable(
        "query evaluators cannot be kept off the network on this machine (no network "
        "namespace, no seccomp filter); set ZIGRAPH_ALLOW_NETWORKED_EVALUATORS=1 to run "
        "them anyway, with the query parser's refusals as the only guard"
    )


def open_backend(app: Flask) -> Backend:
    """Open the backend the settings name: a remote endpoint, or the embedded store."""
    settings: Settings = app.extensions["zigraph.settings"]
    mode = evaluator_isolation(settings.evaluator_isolation, settings.allow_networked_evaluators)
    memory_mb = settings.evaluator_memory_mb or None
    preload_allocator(find_allocator(settings.evaluator_allocator))
    if settings.endpoint:
        from service.store import remote

        return remote.RemoteBackend(
            settings.endpoint,
            result_limit=settings.result_limit,
            timeout=settings.query_timeout,
            user=settings.store_user or None,
            password=settings.store_password,
            isolation=mode,
            readers=settings.evaluators,
            queries_per_client=settings.queries_per_client or None,
            memory_mb=memory_mb,
            client_requests=settings.evaluators,
        )
    from service.store import embedded

    store_dir = settings.store_dir
    if store_dir is None:
        from service.store import building

        store_dir = building.temporary_store()
        app.extensions["zigraph.settings"] = dataclasses.replace(settings, store_dir=store_dir)
        app.config["STORE_DIR"] = store_dir
    return embedded.EmbeddedBackend(
        Path(store_dir),
        isolation=mode,
        result_limit=settings.result_limit,
        timeout=settings.query_timeout,
        evaluators=settings.evaluators,
        service_evaluators=settings.service_evaluators,
        queries_per_client=settings.queries_per_client or None,
        client_niceness=settings.client_niceness,
        memory_mb=memory_mb,
        idle_seconds=settings.evaluator_idle_seconds,
    )


def get_store() -> Backend:
    """Return the application's backend, opening it on first use in this process."""
    app = current_app
    backend = app.extensions.get("zigraph.store")
    if backend is None:
        with _opening:
            backend = app.extensions.get("zigraph.store")
            if backend is None:
                backend = open_backend(app)
                app.extensions["zigraph.store"] = backend
    return backend


def start_deadline() -> None:
    """Start the clock of the current request: one deadline covers all of its queries."""
    g.zigraph_deadline = time.monotonic() + get_settings().query_timeout


def init_app(app: Flask) -> None:
    """Register the store with the application."""
    app.extensions.setdefault("zigraph.store", None)
    app.before_request(start_deadline)
