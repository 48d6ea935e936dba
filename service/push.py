"""``zigraph push``: load the dataset into a remote store (SPARQL 1.1 Graph Store Protocol).

The data is built as ``zigraph serve`` builds it, with the one builder
(:func:`~service.store.building.prepare_store`: validated, loaded, its VoID statistics
counted) into a temporary folder. Each graph of that store is sent with a PUT, then the
record (``RECORD_GRAPH``): the store's metadata, statistics and conformance report, which
``zigraph serve --endpoint`` reads instead of the whole store. The record goes last, so a
reader never sees a record newer than the graphs.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click
import pyoxigraph as ox
import requests

from service import dataset, search
from service.cli_options import dataset_options, files_or_exit, settings_or_exit
from service.errors import BackendUnavailable
from service.export import FORMATS, RdfSerialization
from service.namespaces import PREFIXES
from service.store.building import prepare_store
from service.store.embedded import LISTED_MEMBERS, STATISTICS_FILE, read_class_members
from service.store.remote import (
    PASSWORD_VARIABLE,
    RECORD_CLASS_MEMBERS,
    RECORD_GRAPH,
    RECORD_PARTS,
    record_pieces,
    shown_url,
    store_session,
)
from service.validation import REPORT_FILE, Report


@click.command()
@dataset_options
@click.option(
    "--graph-store",
    required=True,
    envvar="ZIGRAPH_GRAPH_STORE",
    show_envvar=True,
    help="The store's Graph Store Protocol URL, e.g. http://127.0.0.1:7878/store "
    "(Virtuoso: http://HOST:8890/sparql-graph-crud-auth).",
)
@click.option(
    "--user",
    envvar="ZIGRAPH_STORE_USER",
    show_envvar=True,
    help=f"User name at the store; the password comes from {PASSWORD_VARIABLE} or ~/.netrc "
    "(Digest or Basic authentication, as the store asks).",
)
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["nt", "ttl"]),
    default="nt",
    show_default=True,
    help="The RDF format the graphs are sent in.",
)
@click.option("--timeout", default=60.0, show_default=True, type=float, help="Seconds per graph.")
@click.option(
    "--no-validate",
    is_flag=True,
    envvar="ZIGRAPH_NO_VALIDATE",
    show_envvar=True,
    help="Push the data without validating it (the record then holds no report).",
)
def push(
    graph_store: str,
    user: str | None,
    format_name: str,
    timeout: float,
    no_validate: bool,
    data_paths,
    ontology_paths,
    shapes_paths,
) -> None:
    """Load the dataset into a remote store, one named graph at a time (HTTP PUT), then its
    record.

    The data is validated first, as zigraph serve validates it: data that breaks the shapes
    is not pushed (status 1) unless --no-validate. Each PUT replaces its graph, so pushing
    again after a change leaves no stale triples in the graphs sent; graphs of files since
    deleted stay in the store, but are no longer served: the record lists the graphs served.
    """
    shown = shown_url(graph_store)
    try:
        session = store_session(graph_store, user, settings_or_exit().store_password)
    except BackendUnavailable as error:
        click.echo(f"zigraph: {error.message}", err=True)
        sys.exit(1)
    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    started = time.monotonic()
    try:
        path, metadata, _ = prepare_store(
            files, None, validate=not no_validate, say=lambda text: click.echo(f"zigraph: {text}")
        )
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    click.echo(
        f"zigraph: built {metadata['triples']:,} quads in {len(metadata['graphs'])} graphs "
        f"in {metadata.get('load_seconds')} s, statistics in {metadata.get('statistics_seconds')} s"
    )
    try:
        refuse_nonconforming(metadata, path)
        store = ox.Store.read_only(str(path))
        fmt = FORMATS[format_name]
        graphs = metadata["graphs"]
        with session:
            for number, graph in enumerate(graphs, start=1):
                with tempfile.TemporaryFile() as body:
                    sent = write_graph(store, graph, fmt, body)
                    status = put(session, shown, graph, body, fmt.media_type, timeout)
                click.echo(f"[{number}/{len(graphs)}] {graph}: {sent} triples ({status})")
            del store
            with tempfile.TemporaryFile() as body:
                body.write(record_triples(path, metadata))
                status = put(session, shown, RECORD_GRAPH, body, FORMATS["nt"].media_type, timeout)
            click.echo(f"record {RECORD_GRAPH}: version {metadata['version']} ({status})")
    finally:
        shutil.rmtree(path, ignore_errors=True)
    seconds = time.monotonic() - started
    click.echo(
        f"pushed {metadata['triples']} quads in {len(graphs)} graphs to {shown} in {seconds:.1f} s"
    )


def refuse_nonconforming(metadata: dict, path: Path) -> None:
    """Exit 1 with the report when the data breaks the shapes; warn when not validated."""
    outcome = metadata.get("validation")
    if outcome is None:
        click.echo("zigraph: warning: the data was not validated (--no-validate).", err=True)
        return
    if outcome["conforms"]:
        click.echo(
            f"zigraph: the data conforms to the shapes (validated in {outcome['seconds']} s)"
        )
        return
    report = Report.load(path)
    if report is not None:
        click.echo(report.text("en"), err=True, nl=False)
    click.echo(
        "zigraph: the data does not conform to the shapes; not pushing it "
        "(fix the data, or pass --no-validate to push it anyway).",
        err=True,
    )
    sys.exit(1)


def write_graph(store: ox.Store, graph: str, fmt: RdfSerialization, output: IO[bytes]) -> int:
    """Write one graph of the built store to ``output`` in ``fmt``; return its triples."""
    counted = 0

    def triples() -> Iterator[ox.Triple]:
        nonlocal counted
        for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
            counted += 1
            yield quad.triple

    ox.serialize(triples(), output, fmt.oxigraph_format, prefixes=PREFIXES)
    output.seek(0)
    return counted


def record_triples(path: Path, metadata: dict) -> bytes:
    """Return the record of a built store as N-Triples: its metadata, statistics, report,
    search index, and the first and last members of each large class."""
    record = ox.NamedNode(RECORD_GRAPH)
    statistics = (path / STATISTICS_FILE).read_text()
    parts = {
        "metadata": json.dumps(metadata, sort_keys=True),
        "statistics": statistics,
        "classes": json.dumps(class_ends(path, json.loads(statistics)), sort_keys=True),
    }
    report = path / REPORT_FILE
    if report.exists():
        parts["report"] = report.read_text()
    index = path / search.INDEX_FOLDER
    if search.open_index(index) is not None:
        parts["search"] = search.pack(index)
    triples = [
        ox.Triple(record, ox.NamedNode(RECORD_PARTS[part]), ox.Literal(piece))
        for part, text in parts.items()
        for piece in record_pieces(text)
    ]
    written = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return written  # type: ignore[return-value]  # given no output, serialize returns bytes


def class_ends(path: Path, statistics: dict) -> dict[str, dict[str, list[str]]]:
    """Return the first and the last RECORD_CLASS_MEMBERS members, by IRI, of each class the
    built store lists (more than LISTED_MEMBERS): the pages a store would otherwise sort all
    of a class's members for (RemoteBackend.class_members)."""
    ends = {}
    for cls, members in statistics.get("data_classes", {}).get("members", {}).items():
        if members <= LISTED_MEMBERS:
            continue
        first = read_class_members(path, cls, 0, RECORD_CLASS_MEMBERS, descending=False)
        last = read_class_members(path, cls, 0, RECORD_CLASS_MEMBERS, descending=True)
        if first is not None and last is not None:
            ends[cls] = {"first": first, "last": last}
    return ends


def put(
    session: requests.Session, shown: str, graph: str, body: IO[bytes], media: str, timeout: float
) -> int:
    """Replace one graph of the store with ``body``; return the status, or exit 1 saying why."""
    body.seek(0)
    try:
        response = session.put(
            shown,  # the credentials travel in the session, never in the URL
            params={"graph": graph},
            data=body,
            headers={"Content-Type": media},
            timeout=timeout,
        )
    except requests.RequestException as error:
        click.echo(
            f"zigraph: cannot reach the graph store {shown}: {type(error).__name__}", err=True
        )
        sys.exit(1)
    if response.status_code >= 400:
        detail = response.text[:500].strip()
        if response.status_code == 401:
            detail = (
                f"the store wants credentials: --user NAME, with the password in "
                f"{PASSWORD_VARIABLE} or ~/.netrc"
                if session.auth is None
                else "the store refused the user name or password"
            )
        click.echo(f"zigraph: {shown} refused {graph}: {response.status_code} {detail}", err=True)
        sys.exit(1)
    return response.status_code
