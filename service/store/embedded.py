"""The embedded backend: an Oxigraph store on disk, built once from the dataset, read-only after."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyoxigraph as ox

from service.dataset import LoadedDataset
from service.store import QueryResult

METADATA_FILE = "zigraph-store.json"


def build_store(dataset: LoadedDataset, path: Path) -> dict:
    """Write the dataset into a new Oxigraph store at ``path`` and return its metadata.

    The store is filled completely before its metadata file is written, so a store folder
    with metadata is never half-built.
    """
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty; remove it or choose another --store-dir")
    store = ox.Store(str(path))
    store.bulk_extend(dataset.quads)
    store.flush()
    store.optimize()
    del store
    metadata = {
        "version": dataset.version,
        "triples": len(dataset.quads),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "graphs": [f.graph for f in dataset.files],
    }
    (path / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def read_metadata(path: Path) -> dict | None:
    """Return a built store's metadata, or None when the folder holds no complete store."""
    try:
        return json.loads((path / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return None


def run_query(
    store: ox.Store,
    sparql: str,
    *,
    default_graph_uris: list[str] | None = None,
    named_graph_uris: list[str] | None = None,
    limit: int | None = None,
) -> QueryResult:
    """Evaluate a query on ``store``; the default graph is the union of all graphs.

    :param limit: the most rows or triples to return; more are dropped and the result is
        marked truncated.
    """
    options: dict = {"use_default_graph_as_union": not default_graph_uris}
    if default_graph_uris:
        options["default_graph"] = [ox.NamedNode(iri) for iri in default_graph_uris]
    if named_graph_uris:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in named_graph_uris]
    answer = store.query(sparql, **options)
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult(kind="boolean", boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = []
        truncated = False
        for solution in answer:
            if limit is not None and len(rows) >= limit:
                truncated = True
                break
            rows.append(tuple(solution[v] for v in variables))
        return QueryResult(kind="bindings", variables=variables, rows=rows, truncated=truncated)
    triples = []
    truncated = False
    for triple in answer:
        if limit is not None and len(triples) >= limit:
            truncated = True
            break
        triples.append(triple)
    return QueryResult(kind="graph", triples=triples, truncated=truncated)


class EmbeddedBackend:
    """Query a built Oxigraph store opened read-only in this process."""

    def __init__(self, path: Path, result_limit: int | None = None) -> None:
        self.path = path
        self.name = "embedded"
        self.metadata = read_metadata(path) or {}
        self.result_limit = result_limit
        self._store = ox.Store.read_only(str(path))

    def query(
        self,
        sparql: str,
        *,
        default_graph_uris: list[str] | None = None,
        named_graph_uris: list[str] | None = None,
    ) -> QueryResult:
        """Evaluate a query on the store."""
        return run_query(
            self._store,
            sparql,
            default_graph_uris=default_graph_uris,
            named_graph_uris=named_graph_uris,
            limit=self.result_limit,
        )

    def quads(self) -> list[ox.Quad]:
        """Return every quad of the store, sorted."""
        return sorted(self._store, key=str)

    def health(self) -> dict:
        """Return the store's state: reachable, its triple count and dataset version."""
        return {
            "store": self.name,
            "reachable": True,
            "triples": len(self._store),
            "version": self.metadata.get("version"),
        }

    def close(self) -> None:
        """Release the store."""
        self._store = None


def temporary_store() -> Path:
    """Build the shipped dataset into a temporary store, removed when the process exits."""
    import atexit
    import shutil
    import tempfile

    from service import dataset

    path = Path(tempfile.mkdtemp(prefix="zigraph-store-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    build_store(dataset.load(), path)
    return path
