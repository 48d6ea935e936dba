"""The store behind the service, reached through one accessor: ``get_store()``.

Backends: ``embedded`` (an Oxigraph store on disk, default) and ``remote`` (any SPARQL 1.1
endpoint). Both answer :class:`QueryResult` objects holding pyoxigraph terms.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import pyoxigraph as ox
from flask import Flask, current_app

_opening = threading.Lock()  # threads of one web process share one backend

ResultKind = Literal["bindings", "boolean", "graph"]


@dataclass
class QueryResult:
    """The answer to one query: solutions, a boolean or triples, and whether it was capped."""

    kind: ResultKind
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None, ...]] = field(
        default_factory=list
    )
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False

    def dicts(self) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]]:
        """Return the rows as dictionaries from variable name to bound term (unbound left out)."""
        return [
            {v: t for v, t in zip(self.variables, row, strict=True) if t is not None}
            for row in self.rows
        ]


class Backend(Protocol):
    """What every store backend offers the routes."""

    name: str  # "embedded" or "remote"
    location: str  # the store folder or the endpoint URL

    def query(
        self,
        sparql: str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
    ) -> QueryResult: ...

    def quads(self) -> list[ox.Quad]: ...

    def graphs(self) -> list[str]: ...

    def metadata(self) -> dict: ...

    def fixed_version(self) -> str | None: ...

    def health(self) -> dict: ...

    def close(self) -> None: ...


def open_backend(app: Flask) -> Backend:
    """Open the backend the configuration names: a remote endpoint, or the embedded store."""
    if app.config.get("ENDPOINT"):
        from service.store import remote

        return remote.RemoteBackend(
            app.config["ENDPOINT"],
            result_limit=app.config["RESULT_LIMIT"],
            timeout=float(app.config["QUERY_TIMEOUT"]),
            user=app.config.get("STORE_USER"),
        )
    from service.store import embedded

    store_dir = app.config.get("STORE_DIR")
    if not store_dir:
        store_dir = embedded.temporary_store()
        app.config["STORE_DIR"] = str(store_dir)
    return embedded.EmbeddedBackend(
        Path(store_dir),
        result_limit=app.config["RESULT_LIMIT"],
        timeout=float(app.config["QUERY_TIMEOUT"]),
        evaluators=int(app.config["EVALUATORS"]),
        memory_mb=int(app.config["EVALUATOR_MEMORY_MB"] or 0) or None,
    )


def get_store() -> Backend:
    """Return the application's backend, opening it on first use in this process."""
    app = current_app._get_current_object()
    backend = app.extensions.get("zigraph.store")
    if backend is None:
        with _opening:
            backend = app.extensions.get("zigraph.store")
            if backend is None:
                backend = open_backend(app)
                app.extensions["zigraph.store"] = backend
    return backend


def init_app(app: Flask) -> None:
    """Register the store with the application."""
    app.extensions.setdefault("zigraph.store", None)
