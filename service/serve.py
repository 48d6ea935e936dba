"""``zigraph serve``: the service under gunicorn, over the embedded store or a remote one."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from service import dataset
from service.store import embedded
from service.store.remote import shown_url


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


LIMIT_REQUEST_LINE = 8190  # gunicorn's largest; the application answers 414 before it
SECURITY_HEADERS_OF_SERVER_ERRORS = (
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: strict-origin-when-cross-origin\r\n"
    "Cache-Control: no-store\r\n"
)


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
        # A request line past this is refused by gunicorn itself, before a thread reads it all;
        # below it, the application answers over-long query strings with a 414 that says why.
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        # gunicorn's control socket is one path per user shared by every instance on a host:
        # a second zigraph would take over the first's. zigraph does not use it.
        "control_socket_disable": True,
        "accesslog": "-",
        "errorlog": "-",
    }


def write_server_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Answer a request gunicorn refused before the application saw it, with our headers."""
    from gunicorn.util import write_nonblock

    body = f"{status_int} {reason}: {mesg}\n".encode("utf-8", "replace")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{SECURITY_HEADERS_OF_SERVER_ERRORS}\r\n"
    )
    write_nonblock(sock, head.encode("latin-1") + body)


def run_gunicorn(options: dict) -> None:
    """Serve ``create_app()`` under gunicorn until it is stopped."""
    import gunicorn.util
    from gunicorn.app.base import BaseApplication

    # gunicorn writes its own error answers (400, 414, 431) through this one function; ours
    # carries the same security headers as every page. Set before the workers fork.
    gunicorn.util.write_error = write_server_error

    class ZigraphApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from service import create_app
            from service.store import get_store

            app = create_app()
            with app.app_context():  # in the worker: open the store, boot its evaluators
                get_store().start()
            return app

    ZigraphApplication().run()


def describe_remote_store(endpoint: str, user: str | None, timeout: float) -> None:
    """Say what the remote store holds, or warn why it cannot be served as it is."""
    from service.errors import ZigraphError
    from service.store.remote import RemoteBackend

    try:
        backend = RemoteBackend(endpoint, timeout=timeout, user=user)
        try:
            graphs = backend.graphs()
        finally:
            backend.close()
    except ZigraphError as error:
        click.echo(f"zigraph: warning: {error.message}", err=True)
        return
    if not graphs:
        click.echo(
            "zigraph: warning: the store holds none of zigraph's graphs; load them with "
            "zigraph push (/healthz answers 503 until then)",
            err=True,
        )
        return
    click.echo(f"zigraph: {len(graphs)} graphs in the store ({backend.engine})", err=True)


def refuse_networked_store(endpoint: str, user: str | None, timeout: float, allow: bool) -> None:
    """Ask the store to fetch a URL of zigraph's; if it does, exit 2 (or warn, when allowed)."""
    from service.errors import ZigraphError
    from service.store.outbound_probe import WAYS, outbound_ways
    from service.store.remote import RemoteBackend

    advice = (
        "cut the store's network (docs/remote-stores.md says how), or set "
        "ZIGRAPH_ALLOW_NETWORKED_STORE=1 to serve it anyway"
    )
    try:
        backend = RemoteBackend(endpoint, timeout=timeout, user=user)
        try:
            reached = outbound_ways(backend)
        finally:
            backend.close()
    except ZigraphError as error:
        problem = f"cannot tell whether the store can make requests of its own: {error.message}"
    else:
        if not reached:
            ways = ", ".join(WAYS)
            click.echo(f"zigraph: the store made no request when asked to ({ways})", err=True)
            return
        problem = (
            f"the store fetched a URL of zigraph's when asked to ({', '.join(reached)}): "
            "a query that reaches it could make it send requests wherever its network goes"
        )
    if allow:
        click.echo(
            f"zigraph: warning: {problem}; serving it (ZIGRAPH_ALLOW_NETWORKED_STORE)", err=True
        )
        return
    click.echo(f"zigraph: {problem}; {advice}.", err=True)
    sys.exit(2)


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
    "--user",
    envvar="ZIGRAPH_STORE_USER",
    show_envvar=True,
    help="User name at the --endpoint store; the password comes from ZIGRAPH_STORE_PASSWORD "
    "or ~/.netrc.",
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
    user,
    no_validate,
    query_timeout,
) -> None:
    """Serve the pages and the SPARQL endpoint.

    The data (the shipped data unless --data names other files) is loaded and validated
    before anything starts: a file that cannot be read stops with status 2, data that
    breaks the shapes with status 1.
    """
    from service import create_app
    from service.errors import BackendUnavailable
    from service.store import evaluator_isolation

    if query_timeout is not None:
        os.environ["ZIGRAPH_QUERY_TIMEOUT"] = str(query_timeout)  # read by every worker's app
    shown_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # an address to open
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    public_url = os.environ.get("ZIGRAPH_PUBLIC_URL") or f"http://{shown_host}:{port}"
    config = create_app().config
    timeout = float(config["QUERY_TIMEOUT"])
    options = gunicorn_options(host, port, workers, threads, timeout)
    if endpoint:
        click.echo(f"zigraph: serving the remote store at {shown_url(endpoint)}", err=True)
        describe_remote_store(endpoint, user, timeout)
        refuse_networked_store(endpoint, user, timeout, bool(config["ALLOW_NETWORKED_STORE"]))
        os.environ["ZIGRAPH_ENDPOINT"] = endpoint
        os.environ["ZIGRAPH_PUBLIC_URL"] = public_url  # read by every worker's app
        if user:
            os.environ["ZIGRAPH_STORE_USER"] = user
        run_gunicorn(options)
        return
    try:
        isolation = evaluator_isolation(
            config["EVALUATOR_ISOLATION"], bool(config["ALLOW_NETWORKED_EVALUATORS"])
        )
    except BackendUnavailable as error:
        click.echo(f"zigraph: {error.message}", err=True)
        sys.exit(2)
    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    path, metadata, temporary = prepare_store(files, store_dir, validate=not no_validate)
    try:
        report_validation(metadata, path, enforce=not no_validate)
        os.environ["ZIGRAPH_STORE_DIR"] = str(path)
        os.environ["ZIGRAPH_PUBLIC_URL"] = public_url  # read by every worker's app
        network = f"without network ({isolation})" if isolation != "none" else "WITH network"
        click.echo(
            f"zigraph: serving {metadata['triples']:,} triples in {len(metadata['graphs'])} "
            f"named graphs (version {metadata['version']}); query evaluators {network}; "
            f"open {public_url}/",
            err=True,
        )
        run_gunicorn(options)
    finally:
        if temporary:
            shutil.rmtree(path, ignore_errors=True)
