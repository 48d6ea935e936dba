"""``zigraph serve`` (the service under gunicorn) and ``zigraph push`` (load a remote store)."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import click

from service import dataset
from service.export import FORMATS, serialize_triples
from service.store import embedded


def load_or_exit(files: list[dataset.SourceFile] | None = None) -> dataset.LoadedDataset:
    """Load the dataset (the shipped files by default), or name the bad file and line, exit 2."""
    try:
        return dataset.load(files)
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)


def files_or_exit(
    data: tuple[Path, ...] = (), ontology: tuple[Path, ...] = (), shapes: tuple[Path, ...] = ()
) -> list[dataset.SourceFile]:
    """Return the dataset's files (the shipped ones unless paths are given), or exit 2."""
    try:
        files = dataset.selected_files(data, ontology, shapes)
        dataset.fingerprint(files)  # every file exists and can be read
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    return files


def build_timed(files: list[dataset.SourceFile], path: Path) -> dict:
    """Stream the files into a new store at ``path``; return its metadata with the seconds."""
    started = time.monotonic()
    metadata = embedded.build_store_from_files(files, path)
    metadata["load_seconds"] = round(time.monotonic() - started, 1)
    return metadata


def validate_timed(files: list[dataset.SourceFile]):
    """Validate the files; return the report and the seconds it took."""
    from service.validation import validate_files

    started = time.monotonic()
    report = validate_files(files)
    return report, round(time.monotonic() - started, 1)


def build_isolated(files: list[dataset.SourceFile], path: Path, validate: bool) -> dict:
    """Build the store and validate the files, side by side in two child processes.

    The report is saved beside the store, for the pages, and the outcome (conformance, the
    seconds it took, the engine) goes into the store's metadata, so that a restart over
    unchanged files needs neither step again. The storage engine leaves threads behind in
    the process that writes a store; gunicorn workers forked from such a master hang when
    they exit. So the master never opens one.
    """
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        built = executor.submit(build_timed, files, path)
        checked = executor.submit(validate_timed, files) if validate else None
        metadata = built.result()
        if checked is not None:
            report, seconds = checked.result()
            report.save(path)
            metadata["validation"] = {
                "conforms": report.conforms,
                "violations": len(report.results),
                "seconds": seconds,
                "engine": report.engine,
            }
            embedded.write_metadata(path, metadata)
    return metadata


def prepare_store(
    files: list[dataset.SourceFile], store_dir: Path | None, validate: bool = True
) -> tuple[Path, dict, bool]:
    """Return a built store of the files, its metadata and whether it is temporary.

    A ``store_dir`` whose store was built from the same files (same paths, sizes and
    modification times) is reused without reading them; one built from other files is
    rebuilt; any other non-empty folder is refused, so no user file is ever deleted.
    """
    try:
        key = dataset.fingerprint(files)
        if store_dir is None:
            path = Path(tempfile.mkdtemp(prefix="zigraph-store-"))
            return path, build_isolated(files, path, validate), True
        metadata = embedded.read_metadata(store_dir)
        reusable = metadata is not None and metadata.get("fingerprint") == key
        if reusable and (metadata.get("validation") or not validate):
            click.echo(f"zigraph: reusing the store in {store_dir} (data unchanged)", err=True)
            return store_dir, {**metadata, "reused": True}, False
        if metadata is not None:
            click.echo(f"zigraph: rebuilding the store in {store_dir} (data changed)", err=True)
            shutil.rmtree(store_dir)
        return store_dir, build_isolated(files, store_dir, validate), False
    except dataset.DatasetError as error:
        click.echo(f"zigraph: cannot read {error}", err=True)
        sys.exit(2)
    except FileExistsError as error:
        click.echo(f"zigraph: {error}", err=True)
        sys.exit(2)


def report_validation(metadata: dict, store: Path, enforce: bool) -> None:
    """Say whether the data conforms; when it does not, print the report and exit 1 (or warn)."""
    outcome = metadata.get("validation")
    if outcome is None:
        click.echo("zigraph: warning: the data was not validated (--no-validate).", err=True)
        return
    if outcome["conforms"]:
        when = "when the store was built, " if metadata.get("reused") else ""
        click.echo(
            f"zigraph: the data conforms to the shapes (validated {when}in {outcome['seconds']} s)",
            err=True,
        )
        return
    from service.validation import Report

    click.echo(Report.load(store).text("en"), err=True, nl=False)
    if enforce:
        click.echo(
            "zigraph: the data does not conform to the shapes; not serving it "
            "(fix the data, or pass --no-validate to serve it anyway).",
            err=True,
        )
        sys.exit(1)
    click.echo("zigraph: warning: serving data that does not conform to the shapes.", err=True)


def gunicorn_options(host: str, port: int, workers: int, threads: int, timeout: float) -> dict:
    """Return the gunicorn settings: threaded workers, so a slow query blocks no one else."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": int(max(30, timeout * 3)),
        "graceful_timeout": 10,
        # The application answers over-long URLs itself, with a 414 saying what to do.
        "limit_request_line": 0,
        "accesslog": "-",
        "errorlog": "-",
    }


def run_gunicorn(options: dict) -> None:
    """Serve ``create_app()`` under gunicorn until it is stopped."""
    from gunicorn.app.base import BaseApplication

    class ZigraphApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from service import create_app

            return create_app()

    ZigraphApplication().run()


def dataset_options(command):
    """Add --data, --ontology and --shapes, the dataset options every command shares."""
    paths = click.Path(path_type=Path)
    command = click.option(
        "--shapes",
        "shapes_paths",
        multiple=True,
        type=paths,
        help="Shapes file or folder, instead of the shipped shapes (add the word "
        "'shipped' to keep them too). Repeatable.",
    )(command)
    command = click.option(
        "--ontology",
        "ontology_paths",
        multiple=True,
        type=paths,
        help="Ontology file or folder, instead of the shipped ontology (add the word "
        "'shipped' to keep it too). Repeatable.",
    )(command)
    return click.option(
        "--data",
        "data_paths",
        multiple=True,
        type=paths,
        envvar="ZIGRAPH_DATA",
        show_envvar=True,
        help="RDF file or folder to serve instead of the shipped data (any format pyoxigraph "
        "reads, gzip too). Repeatable; in ZIGRAPH_DATA, separate paths with ':'.",
    )(command)


@click.command()
@dataset_options
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="ZIGRAPH_HOST", show_envvar=True
)
@click.option(
    "--port", default=5000, show_default=True, type=int, envvar="ZIGRAPH_PORT", show_envvar=True
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=int,
    envvar="ZIGRAPH_WORKERS",
    show_envvar=True,
    help="Web processes (each with its own query evaluators).",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=int,
    envvar="ZIGRAPH_THREADS",
    show_envvar=True,
    help="Request threads per web process.",
)
@click.option(
    "--store-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ZIGRAPH_STORE_DIR",
    show_envvar=True,
    help="Keep the built store here and reuse it while the data is unchanged "
    "(default: a temporary folder removed at exit).",
)
@click.option(
    "--endpoint",
    envvar="ZIGRAPH_ENDPOINT",
    show_envvar=True,
    help="Serve a remote SPARQL 1.1 endpoint instead of the embedded store.",
)
@click.option(
    "--no-validate",
    is_flag=True,
    envvar="ZIGRAPH_NO_VALIDATE",
    show_envvar=True,
    help="Serve the data without validating it (with a warning).",
)
@click.option(
    "--query-timeout",
    type=float,
    envvar="ZIGRAPH_QUERY_TIMEOUT",
    show_envvar=True,
    help="Seconds a query may run before it is stopped (default: 10).",
)
def serve(
    data_paths,
    ontology_paths,
    shapes_paths,
    host,
    port,
    workers,
    threads,
    store_dir,
    endpoint,
    no_validate,
    query_timeout,
) -> None:
    """Serve the pages and the SPARQL endpoint.

    The data (the shipped data unless --data names other files) is loaded and validated
    before anything starts: a file that cannot be read stops with status 2, data that
    breaks the shapes with status 1.
    """
    from service import create_app

    if query_timeout is not None:
        os.environ["ZIGRAPH_QUERY_TIMEOUT"] = str(query_timeout)  # read by every worker's app
    timeout = float(create_app().config["QUERY_TIMEOUT"])
    options = gunicorn_options(host, port, workers, threads, timeout)
    if endpoint:
        os.environ["ZIGRAPH_ENDPOINT"] = endpoint
        click.echo(f"zigraph: serving the remote store at {endpoint}", err=True)
        run_gunicorn(options)
        return
    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    path, metadata, temporary = prepare_store(files, store_dir, validate=not no_validate)
    try:
        report_validation(metadata, path, enforce=not no_validate)
        os.environ["ZIGRAPH_STORE_DIR"] = str(path)
        shown_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
        shown_host = f"[{shown_host}]" if ":" in shown_host.strip("[]") else shown_host
        click.echo(
            f"zigraph: serving {metadata['triples']:,} triples in {len(metadata['graphs'])} "
            f"named graphs (version {metadata['version']}); open http://{shown_host}:{port}/",
            err=True,
        )
        run_gunicorn(options)
    finally:
        if temporary:
            shutil.rmtree(path, ignore_errors=True)


def put_graph(graph_store: str, graph: str, body: bytes, media_type: str, timeout: float) -> int:
    """PUT one named graph into a SPARQL 1.1 Graph Store and return the HTTP status."""
    separator = "&" if "?" in graph_store else "?"
    url = graph_store + separator + urlencode({"graph": graph})
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": media_type}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


@click.command()
@click.option(
    "--graph-store",
    required=True,
    envvar="ZIGRAPH_GRAPH_STORE",
    show_envvar=True,
    help="The store's Graph Store Protocol URL, e.g. http://127.0.0.1:7878/store",
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
def push(graph_store: str, format_name: str, timeout: float) -> None:
    """Load the dataset into a remote store, one named graph at a time (HTTP PUT).

    Each PUT replaces its graph, so pushing again after a change leaves no stale triples in
    the graphs sent; graphs of files since deleted stay in the store until dropped there.
    """
    loaded = load_or_exit()
    fmt = FORMATS[format_name]
    total = len(loaded.files)
    started = time.monotonic()
    for number, source in enumerate(loaded.files, start=1):
        triples = [q.triple for q in loaded.quads if q.graph_name.value == source.graph]
        body = serialize_triples(triples, fmt)
        try:
            status = put_graph(graph_store, source.graph, body, fmt.media_type, timeout)
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode("utf-8", "replace").strip()
            click.echo(
                f"zigraph: {graph_store} refused {source.graph}: {error.code} {detail}", err=True
            )
            sys.exit(1)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            click.echo(f"zigraph: cannot reach the graph store {graph_store}: {reason}", err=True)
            sys.exit(1)
        click.echo(f"[{number}/{total}] {source.graph}: {len(triples)} triples ({status})")
    seconds = time.monotonic() - started
    click.echo(
        f"pushed {len(loaded.quads)} quads in {total} graphs to {graph_store} in {seconds:.1f} s"
    )
