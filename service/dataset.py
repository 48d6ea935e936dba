"""Read the curated files into one RDF dataset: one named graph per file, never half-loaded."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO, cast

import click
import pyoxigraph as ox

from service import resources
from service.namespaces import GRAPH_BASE

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

# Folders of the dataset, in load order, and the role each file in them plays.
ROLES = ("ontology", "shapes", "graph_data")
SOURCE_TEXTS = "sources"  # graph_data/sources/ holds the source documents' text, not RDF
COMPRESSED = ".gz"  # any RDF file may be gzip-compressed: data.nt.gz, article.ttl.gz
SHIPPED = "shipped"  # among --ontology/--shapes paths: keep the shipped files too
# Bump when the way files become a store changes, so that older stores are rebuilt.
LOADER_VERSION = 2


class DatasetError(Exception):
    """A dataset file cannot be read or parsed."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # raised in the process that builds the store, shown by its parent
        return (type(self), (self.path, self.message, self.line))


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
        graphs = {ox.NamedNode(f.graph) for f in self.files if f.role in roles}
        return (q for q in self.quads if q.graph_name in graphs)

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
        parts = [*relative.parts[:-1], stem(path)]
        if parts and parts[0] == "graph_data":
            parts = parts[1:]
        elif parts and parts[0] != role:
            parts = [role, *parts]
    except ValueError:
        parts = [role, stem(path)]
    return GRAPH_BASE + "/".join(parts)


def stem(path: Path) -> str:
    """Return a file's name without its RDF extension and any compression suffix."""
    name = path.name[: -len(COMPRESSED)] if path.name.lower().endswith(COMPRESSED) else path.name
    return Path(name).stem


def rdf_format(path: Path) -> ox.RdfFormat:
    """Return the RDF format of a file from its extension (``.gz`` aside), or raise DatasetError."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == COMPRESSED:
        suffixes.pop()
    extension = suffixes[-1].lstrip(".") if suffixes else ""
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
    return list(stream_quads([source]))


def selected_files(
    data: Iterable[Path] = (), ontology: Iterable[Path] = (), shapes: Iterable[Path] = ()
) -> list[SourceFile]:
    """Return the files of a dataset: the shipped ones, or those given for each role.

    Data paths replace the shipped graph_data; ontology and shapes paths replace the shipped
    ontology and shapes, unless one of them is the word ``shipped``, which keeps them too.
    """
    shipped = shipped_files()
    given = {"ontology": list(ontology), "shapes": list(shapes), "graph_data": list(data)}
    files = []
    for role in ROLES:
        paths = given[role]
        if not paths or any(str(p) == SHIPPED for p in paths):
            files += [f for f in shipped if f.role == role]
        files += files_for([p for p in paths if str(p) != SHIPPED], role)
    return files


def fingerprint(files: Iterable[SourceFile]) -> str:
    """Return a cheap key of the files: paths, graphs, sizes and modification times.

    Equal keys mean the store built from these files can be reused without reading them.
    """
    digest = hashlib.sha256(f"zigraph loader {LOADER_VERSION}\n".encode())
    for source in files:
        try:
            status = source.path.stat()
        except OSError as error:
            raise DatasetError(source.path, error.strerror or str(error)) from error
        line = f"{source.role}\t{source.graph}\t{source.path.resolve()}"
        digest.update(f"{line}\t{status.st_size}\t{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class _Reader(io.RawIOBase):
    """A binary file that hashes and counts the bytes read through it."""

    def __init__(self, raw: IO[bytes], digest, progress: ProgressBar | None) -> None:
        self.raw = raw
        self.digest = digest
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.raw.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.digest.update(chunk)
        if self.progress is not None:
            self.progress.update(len(chunk))
        return len(chunk)


def stream_quads(
    files: Iterable[SourceFile], digest=None, progress: ProgressBar | None = None
) -> Iterator[ox.Quad]:
    """Yield the quads of the files one by one, never holding a whole file.

    A file of triples goes into its own named graph; a file of quads keeps the graphs it
    names (its default graph goes into the file's own). Blank nodes are renamed, so that two
    files never share one. ``digest`` (a hashlib object) receives every byte read.
    """
    digest = digest if digest is not None else hashlib.sha256()
    for source in files:
        graph = ox.NamedNode(source.graph)
        fmt = rdf_format(source.path)
        digest.update(f"\n{source.graph}\n".encode())
        try:
            with source.path.open("rb") as raw:
                reader = io.BufferedReader(_Reader(raw, digest, progress))
                # Both are binary files; typeshed's IO[bytes] names neither class.
                stream = cast(
                    IO[bytes],
                    gzip.GzipFile(fileobj=reader) if _compressed(source.path) else reader,
                )
                for quad in ox.parse(
                    input=stream,
                    format=fmt,
                    base_iri=source.path.resolve().as_uri(),
                    rename_blank_nodes=True,
                ):
                    if isinstance(quad.graph_name, ox.DefaultGraph):
                        quad = ox.Quad(quad.subject, quad.predicate, quad.object, graph)
                    yield quad
        except SyntaxError as error:
            raise DatasetError(source.path, error.msg or str(error), error.lineno) from error
        except (OSError, EOFError) as error:
            raise DatasetError(
                source.path, getattr(error, "strerror", None) or str(error)
            ) from error


def _compressed(path: Path) -> bool:
    return path.name.lower().endswith(COMPRESSED)


def progress_bar(
    total: int, label: str, shown: bool = True, file: TextIO | None = None
) -> ProgressBar:
    """Return click's bar of ``total`` bytes on standard error, drawn only on a terminal.

    :param file: where to draw it instead, when that is a terminal.
    """
    file = sys.stderr if file is None else file
    bar: ProgressBar = click.progressbar(
        length=max(total, 1),
        label=label,
        file=file,
        hidden=not (shown and file.isatty()),  # click would still print the label elsewhere
        bar_template="%(label)s [%(bar)s] %(info)s",
        empty_char=".",
        width=25,
        update_min_steps=max(1, total // 400),  # redrawn some hundred times, not every read
        item_show_func=lambda _: f"{bar.pos / 2**20:,.1f} MiB",
    )
    return bar


def source_folders(files: Iterable[SourceFile]) -> list[str]:
    """Return the ``sources/`` folders (the texts) beside the data files or one level up."""
    found = []
    for source in files:
        for folder in (source.path.parent, source.path.parent.parent):
            texts = folder.resolve() / SOURCE_TEXTS
            if texts.is_dir() and str(texts) not in found:
                found.append(str(texts))
    return found


def newest_modification(files: Iterable[SourceFile]) -> str | None:
    """Return the newest modification time of the files, ISO 8601 in UTC (None: no file)."""
    newest = max((os.path.getmtime(f.path) for f in files), default=None)
    if newest is None:
        return None
    return datetime.datetime.fromtimestamp(int(newest), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def total_size(files: Iterable[SourceFile]) -> int:
    """Return the bytes on disk of the files."""
    return sum(os.path.getsize(f.path) for f in files)


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
    blank = {quad for quad in quads if has_blank_node(quad)}
    return sorted((quads - blank) | name_blank_nodes(blank), key=str)


def name_blank_nodes(quads: Iterable[ox.Quad]) -> set[ox.Quad]:
    """Return the quads, once each, with their blank nodes named by RDFC-1.0.

    The names depend only on the quads that hold blank nodes, so these alone may be given:
    the other quads of a dataset neither change nor change the names.
    """
    dataset = ox.Dataset(quads)
    if len(dataset):  # naming them is the costly part
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


def has_blank_node(quad: ox.Quad) -> bool:
    """Return whether a quad holds a blank node, or a quoted triple that may hold one."""
    return any(
        isinstance(term, ox.BlankNode | ox.Triple)
        for term in (quad.subject, quad.object, quad.graph_name)
    )


def dataset_version(quads: Iterable[ox.Quad]) -> str:
    """Return the first 16 hex digits of the SHA-256 of the sorted N-Quads."""
    digest = hashlib.sha256()
    for quad in quads:
        digest.update(str(quad).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
