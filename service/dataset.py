"""Read the curated files into one RDF dataset: one named graph per file, never half-loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from service import resources
from service.namespaces import GRAPH_BASE

# Folders of the dataset, in load order, and the role each file in them plays.
ROLES = ("ontology", "shapes", "graph_data")
SOURCE_TEXTS = "sources"  # graph_data/sources/ holds the source documents' text, not RDF


class DatasetError(Exception):
    """A dataset file cannot be read or parsed."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class SourceFile:
    """One RDF file of the dataset and the named graph it is loaded into."""

    path: Path
    role: str
    graph: str


@dataclass
class LoadedDataset:
    """Every quad of the dataset, grouped by the file (named graph) it came from."""

    files: list[SourceFile]
    quads: list[ox.Quad] = field(repr=False)

    def graph_quads(self, *roles: str) -> Iterator[ox.Quad]:
        """Yield the quads of the files that play one of ``roles``."""
        graphs = {f.graph for f in self.files if f.role in roles}
        return (q for q in self.quads if q.graph_name.value in graphs)

    @cached_property
    def version(self) -> str:
        """Return a short content hash: equal datasets share it, any change alters it."""
        return dataset_version(self.quads)


def graph_iri(path: Path, role: str, root: Path) -> str:
    """Return the named graph IRI of a file: the graph base, the role and the file's stem.

    ``graph_data/articles/x.ttl`` becomes ``…/graph/articles/x``; ``ontology/zigraph.ttl``
    becomes ``…/graph/ontology/zigraph``.
    """
    try:
        relative = path.resolve().relative_to(root.resolve())
        parts = list(relative.with_suffix("").parts)
        if parts and parts[0] == "graph_data":
            parts = parts[1:]
        elif parts and parts[0] != role:
            parts = [role, *parts]
    except ValueError:
        parts = [role, path.stem]
    return GRAPH_BASE + "/".join(parts)


def rdf_format(path: Path) -> ox.RdfFormat:
    """Return the RDF format of a file from its extension, or raise DatasetError."""
    extension = path.suffix.lstrip(".").lower()
    fmt = ox.RdfFormat.from_extension(extension) if extension else None
    if fmt is None:
        raise DatasetError(path, f"unknown RDF file extension {path.suffix!r}")
    return fmt


def rdf_files(folder: Path) -> list[Path]:
    """Return the RDF files under a folder, sorted, leaving out the source texts."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise DatasetError(folder, "no such file or folder")
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or SOURCE_TEXTS in path.relative_to(folder).parts[:-1]:
            continue
        if path.name.startswith(".") or path.suffix.lower() in (".txt", ".md"):
            continue
        found.append(path)
    return found


def shipped_files() -> list[SourceFile]:
    """Return the shipped ontology, shapes and data files with their graph IRIs."""
    root = resources.data_root()
    return [
        SourceFile(path, role, graph_iri(path, role, root))
        for role in ROLES
        for path in rdf_files(resources.folder(role))
    ]


def files_for(paths: Iterable[Path], role: str) -> list[SourceFile]:
    """Return the RDF files found under ``paths``, all playing ``role``."""
    result = []
    for given in paths:
        base = given if given.is_dir() else given.parent
        for path in rdf_files(given):
            result.append(SourceFile(path, role, graph_iri(path, role, base.parent)))
    return result


def parse_file(source: SourceFile) -> list[ox.Quad]:
    """Parse one file into quads of its named graph, raising DatasetError with the line."""
    graph = ox.NamedNode(source.graph)
    try:
        parsed = list(
            ox.parse(
                path=str(source.path),
                format=rdf_format(source.path),
                base_iri=source.path.resolve().as_uri(),
                without_named_graphs=False,
            )
        )
    except SyntaxError as error:
        raise DatasetError(source.path, error.msg or str(error), error.lineno) from error
    except OSError as error:
        raise DatasetError(source.path, error.strerror or str(error)) from error
    return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in parsed]


def load(files: list[SourceFile] | None = None) -> LoadedDataset:
    """Parse every file (the shipped ones by default); a single bad file fails the whole load."""
    files = shipped_files() if files is None else files
    quads: list[ox.Quad] = []
    for source in files:
        quads.extend(parse_file(source))
    return LoadedDataset(files=files, quads=canonical_quads(quads))


def canonical_quads(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """Return the quads, once each, with blank nodes given stable names (RDFC-1.0), sorted."""
    quads = set(quads)
    if any(_has_blank_node(quad) for quad in quads):  # naming them is the costly part
        dataset = ox.Dataset(quads)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        quads = set(dataset)
    return sorted(quads, key=str)


def _has_blank_node(quad: ox.Quad) -> bool:
    return any(
        isinstance(term, ox.BlankNode | ox.Triple)  # a quoted triple may hold one
        for term in (quad.subject, quad.object, quad.graph_name)
    )


def dataset_version(quads: Iterable[ox.Quad]) -> str:
    """Return the first 16 hex digits of the SHA-256 of the sorted N-Quads."""
    digest = hashlib.sha256()
    for quad in quads:
        digest.update(str(quad).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
