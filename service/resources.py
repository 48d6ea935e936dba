"""Locate the curated folders (ontology, shapes, graph_data, queries) in a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

FOLDERS = ("ontology", "shapes", "graph_data", "queries")


def data_root() -> Path:
    """Return the folder holding the curated folders: the installed package's, else the checkout."""
    packaged = resources.files("service") / "data"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent


def folder(name: str) -> Path:
    """Return the path of one curated folder, e.g. ``folder("shapes")``."""
    if name not in FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; expected one of {', '.join(FOLDERS)}")
    return data_root() / name
