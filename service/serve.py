"""``zigraph serve``: the service under gunicorn, over the embedded store or a remote one."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

import click

from service import dataset
from service.cli_options import dataset_options, files_or_exit, settings_or_exit
from service.server import gunicorn_options, prepare_app, run_gunicorn
from service.settings import Settings
from service.store.building import StoreFolderInUse, prepare_store, stop_finishing
from service.store.remote import shown_url


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

    report = Report.load(store)
    if report is None:  # the metadata says it was written; the file is gone or unreadable
        click.echo(f"zigraph: the validation report in {store} cannot be read.", err=True)
    else:
        click.echo(report.text("en"), err=True, nl=False)
    if enforce:
        click.echo(
            "zigraph: the data does not conform to the shapes; not serving it "
            "(fix the data, or pass --no-validate to serve it anyway).",
            err=True,
        )
        sys.exit(1)
    click.echo("zigraph: warning: serving data that does not conform to the shapes.", err=True)


def describe_remote_store(
    endpoint: str, user: str | None, password: str | None, timeout: float
) -> None:
    """Say what the remote store holds, or warn why it cannot be served as it is."""
    from service.errors import ZigraphError
    from service.store.remote import RemoteBackend

    try:
        backend = RemoteBackend(endpoint, timeout=timeout, user=user, password=password)
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


def refuse_networked_store(
    endpoint: str, user: str | None, password: str | None, timeout: float, allow: bool
) -> None:
    """Ask the store to fetch a URL of zigraph's; if it does, exit 2 (or warn, when allowed)."""
    from service.errors import ZigraphError
    from service.store.outbound_probe import WAYS, outbound_ways
    from service.store.remote import RemoteBackend

    advice = (
        "cut the store's network (docs/remote-stores.md says how), or set "
        "ZIGRAPH_ALLOW_NETWORKED_STORE=1 to serve it anyway"
    )
    try:
        backend = RemoteBackend(endpoint, timeout=timeout, user=user, password=password)
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
    default=Settings.threads,
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
    from service.errors import BackendUnavailable
    from service.store import evaluator_isolation
    from service.store.evaluator import allocator_name, find_allocator

    settings = settings_or_exit()
    if query_timeout is not None:
        settings = dataclasses.replace(settings, query_timeout=query_timeout)
    shown_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # an address to open
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    public_url = settings.public_url or f"http://{shown_host}:{port}"
    timeout = settings.query_timeout
    options = gunicorn_options(host, port, workers, threads, timeout)
    # What every worker's application takes over the environment (the workers are forked).
    config = {"QUERY_TIMEOUT": timeout, "PUBLIC_URL": public_url}
    if endpoint:
        click.echo(f"zigraph: serving the remote store at {shown_url(endpoint)}", err=True)
        password = settings.store_password
        describe_remote_store(endpoint, user, password, timeout)
        refuse_networked_store(endpoint, user, password, timeout, settings.allow_networked_store)
        app = prepare_app({**config, "ENDPOINT": endpoint, "STORE_USER": user or ""})
        run_gunicorn(options, app)
        return
    try:
        isolation = evaluator_isolation(
            settings.evaluator_isolation, settings.allow_networked_evaluators
        )
        allocator = find_allocator(settings.evaluator_allocator)
    except BackendUnavailable as error:
        click.echo(f"zigraph: {error.message}", err=True)
        sys.exit(2)
    files = files_or_exit(data_paths, ontology_paths, shapes_paths)
    temporary = store_dir is None
    path = Path(tempfile.mkdtemp(prefix="zigraph-store-")) if temporary else store_dir
    try:
        # The application (its modules and templates, 0.35 s) is made while the store is
        # built in other processes, and joined before gunicorn forks its workers.
        with concurrent.futures.ThreadPoolExecutor(1) as aside:
            made = aside.submit(prepare_app, {**config, "STORE_DIR": str(path)})
            try:
                path, metadata, _ = prepare_store(
                    files,
                    path,
                    validate=not no_validate,
                    say=lambda text: click.echo(f"zigraph: {text}", err=True),
                    background=True,  # SPARQL answers while statistics and search index are made
                )
            except (dataset.DatasetError, StoreFolderInUse) as error:
                what = "cannot read " if isinstance(error, dataset.DatasetError) else ""
                click.echo(f"zigraph: {what}{error}", err=True)
                sys.exit(2)
            app = made.result()
        report_validation(metadata, path, enforce=not no_validate)
        network = f"without network ({isolation})" if isolation != "none" else "WITH network"
        click.echo(
            f"zigraph: serving {metadata['triples']:,} triples in {len(metadata['graphs'])} "
            f"named graphs (version {metadata['version']}); query evaluators {network}, "
            f"with {allocator_name(allocator)}; open {public_url}/",
            err=True,
        )
        run_gunicorn(options, app)
    finally:
        stop_finishing()
        if temporary:
            shutil.rmtree(path, ignore_errors=True)
