"""The conformance report of the data a store serves, and what it covers, once per data version.

``zigraph serve`` validates the data before it starts and saves the report beside the embedded
store; every web process reads that. A store ``serve`` built from files with ``--no-validate``
has none: the pages say the data was not validated (never the report of other files). Over a
remote store, ``zigraph push`` validates the data as ``serve`` does and writes the report into
its record; a store loaded by other means holds no record, and what it serves is read back
and validated, again when its version changes. The pages only show what these functions
return.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from flask import current_app

from service import statistics, validation
from service.store import Backend, get_store

CACHE_KEY = "zigraph.validation-report"  # in app.extensions: {name: (data version, value)}
Kept = TypeVar("Kept")


def served_report() -> validation.Report | None:
    """Return the conformance report of the served data, or None when it was not validated."""
    return _per_version("report", _report)


def report_facts() -> dict:
    """Return what the report covers: the dataset version, when it was built, shapes, nodes."""
    return _per_version("facts", _facts)


def _per_version(name: str, compute: Callable[[Backend, str], Kept]) -> Kept:
    """Return a value computed from the store once for each version of its data."""
    store = get_store()
    version = store.fixed_version() or store.metadata()["version"]
    kept = current_app.extensions.setdefault(CACHE_KEY, {})
    if name not in kept or kept[name][0] != version:
        kept[name] = (version, compute(store, version))
    return kept[name][1]


def _report(store: Backend, version: str) -> validation.Report | None:
    from service.store.remote import RemoteBackend

    if isinstance(store, RemoteBackend):
        if store.record() is not None:
            # The report zigraph push saved in its record; None when it pushed unvalidated.
            text = store.record_part("report")
            return validation.Report.loads(text) if text is not None else None
        # Loaded by other means: what the store serves is read back whole and validated.
        report = validation.validate(store.quads())
        report.validated = f"(version {version})"
        return report
    # The report saved beside the store when it was built; None when it was built with
    # --no-validate, and the pages say the data was not validated.
    return validation.Report.load(Path(store.location))


def _facts(store: Backend, version: str) -> dict:
    metadata = store.metadata()
    figures = store.statistics()  # counted when the store was built (or pushed)
    # Counted here for statistics counted by a zigraph before they held them.
    shapes, focus = figures.get("shapes"), figures.get("focus_nodes")
    return {
        "version": metadata.get("version"),
        "built": metadata.get("built"),
        "shapes": _count(store, statistics.SHAPES) if shapes is None else shapes,
        "focus_nodes": _count(store, statistics.FOCUS_NODES) if focus is None else focus,
    }


def _count(store: Backend, query: str) -> int:
    """Return the number a counting query answers, or 0 when it answers none."""
    rows = store.query(query).rows
    value = rows[0][0] if rows else None
    return int(value.value) if isinstance(value, ox.Literal) else 0
