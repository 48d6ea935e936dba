"""``zigraph push``: load the dataset into a remote store (SPARQL 1.1 Graph Store Protocol)."""

from __future__ import annotations

import sys
import time

import click
import pyoxigraph as ox
import requests

from service.cli_options import dataset_options, files_or_exit, load_or_exit, settings_or_exit
from service.errors import BackendUnavailable
from service.export import FORMATS, serialize_triples
from service.store.remote import PASSWORD_VARIABLE, shown_url, store_session


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
def push(
    graph_store: str,
    user: str | None,
    format_name: str,
    timeout: float,
    data_paths,
    ontology_paths,
    shapes_paths,
) -> None:
    """Load the dataset into a remote store, one named graph at a time (HTTP PUT).

    Each PUT replaces its graph, so pushing again after a change leaves no stale triples in
    the graphs sent; graphs of files since deleted stay in the store until dropped there.
    """
    shown = shown_url(graph_store)
    try:
        session = store_session(graph_store, user, settings_or_exit().store_password)
    except BackendUnavailable as error:
        click.echo(f"zigraph: {error.message}", err=True)
        sys.exit(1)
    loaded = load_or_exit(files_or_exit(data_paths, ontology_paths, shapes_paths))
    fmt = FORMATS[format_name]
    total = len(loaded.files)
    started = time.monotonic()
    with session:
        for number, source in enumerate(loaded.files, start=1):
            graph = ox.NamedNode(source.graph)
            triples = [q.triple for q in loaded.quads if q.graph_name == graph]
            body = serialize_triples(triples, fmt)
            try:
                response = session.put(
                    shown,  # the credentials travel in the session, never in the URL
                    params={"graph": source.graph},
                    data=body,
                    headers={"Content-Type": fmt.media_type},
                    timeout=timeout,
                )
            except requests.RequestException as error:
                click.echo(
                    f"zigraph: cannot reach the graph store {shown}: {type(error).__name__}",
                    err=True,
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
                click.echo(
                    f"zigraph: {shown} refused {source.graph}: {response.status_code} {detail}",
                    err=True,
                )
                sys.exit(1)
            click.echo(
                f"[{number}/{total}] {source.graph}: {len(triples)} triples "
                f"({response.status_code})"
            )
    seconds = time.monotonic() - started
    click.echo(f"pushed {len(loaded.quads)} quads in {total} graphs to {shown} in {seconds:.1f} s")
