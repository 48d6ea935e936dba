"""Shared fixtures: the built store, the application, its test client and CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph

from service import create_app, dataset
from service.store import Backend, building, get_store

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"


class ClosingClient(FlaskClient):
    """A test client that reads each answer whole and closes it, as a WSGI server does.

    Downloads are sent from files (``send_file``); an answer left open would keep its file
    open until the garbage collector finds it.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


Flask.test_client_class = ClosingClient

# Tests that need a real server of another engine (fixtures, or parameters naming one).
ENGINE_FIXTURES = {"oxigraph_server", "virtuoso_server"}
ENGINE_PARAMETERS = {"oxigraph", "oxigraph-union", "virtuoso", "virtuoso-excluding"}


# Modules whose tests start processes of their own (a server, the console script, evaluators
# killed on purpose, a wheel install) and take seconds each: left out of make check.
SLOW_MODULES = {
    "test_add_a_source",
    "test_shacl_sparql",  # both SHACL engines over every fixture, twice
    "test_engines",
    "test_entailment",
    "test_export",
    "test_isolation",
    "test_serve",
    "test_sparql_containment",
    "test_wheel",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that start the Oxigraph server or Virtuoso as ``engines``, and those of
    the modules above as ``slow``."""
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())) or ENGINE_PARAMETERS & {
            value for value in params.values() if isinstance(value, str)
        }:
            item.add_marker(pytest.mark.engines)


def shipped_graph(*roles: str) -> Graph:
    """Return the shipped files of ``roles`` (ontology, shapes, graph_data) parsed by rdflib."""
    graph = Graph()
    for source in dataset.shipped_files():
        if source.role in roles:
            graph.parse(source.path)
    return graph


@pytest.fixture(scope="session")
def shipped_dataset() -> dataset.LoadedDataset:
    """Return the shipped dataset, parsed once per test session."""
    return dataset.load()


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a store built once from the shipped files and validated, as `zigraph serve` does."""
    path = tmp_path_factory.mktemp("store") / "store"
    building.prepare_store(dataset.shipped_files(), path)
    return path


def application_over(store: Path, backend: Backend | None = None):
    """Yield an application over a built store, and close its backend afterwards.

    :param backend: a backend opened already over the same store, shared by the tests of a
        session (its evaluators start once); it is left open.
    """
    # Pages shared through files would carry one test's pages into the next test's app.
    application = create_app({"TESTING": True, "STORE_DIR": str(store), "SHARED_PAGES": False})
    if backend is not None:
        application.extensions["zigraph.store"] = backend
    yield application
    opened = application.extensions.get("zigraph.store")
    if opened is not None and opened is not backend:
        opened.close()


@pytest.fixture(scope="session")
def shipped_backend(store_dir: Path):
    """Return the embedded backend over the shipped store, its evaluators started once."""
    application = create_app({"TESTING": True, "STORE_DIR": str(store_dir)})
    with application.app_context():
        backend = get_store()
    yield backend
    backend.close()


@pytest.fixture
def app(store_dir: Path, shipped_backend):
    """Return the application over the shipped data in the embedded store."""
    yield from application_over(store_dir, shipped_backend)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def sample_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a store built from the small SPARQL test dataset (tests/data/sparql)."""
    path = tmp_path_factory.mktemp("sample-store") / "store"
    files = dataset.files_for([TEST_DATA / "sparql"], "graph_data")  # the data only
    building.prepare_store(files, path, validate=False)
    return path


@pytest.fixture
def sample_app(sample_store_dir: Path):
    """Return the application over the small SPARQL test dataset."""
    yield from application_over(sample_store_dir)


@pytest.fixture
def sample_client(sample_app):
    return sample_app.test_client()


def pushed(server, *options: str, env: dict[str, str] | None = None):
    """Load the shipped dataset into a running store with ``zigraph push``; return the server."""
    from click.testing import CliRunner

    from service.cli import cli

    result = CliRunner(env=env).invoke(cli, ["push", "--graph-store", server.graph_store, *options])
    assert result.exit_code == 0, result.output
    return server


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory):
    """Run ``oxigraph serve`` loaded by ``zigraph push`` for the session; always stop it."""
    from tests.stores import OxigraphServer

    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    server.start()
    try:
        yield pushed(server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory):
    """Run Virtuoso (own ini, ports, folder) loaded by ``zigraph push`` with digest auth."""
    from tests.stores import VirtuosoServer

    server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso"))
    try:
        server.start()
        yield pushed(server, "--user", server.user, env={"ZIGRAPH_STORE_PASSWORD": server.password})
    finally:
        server.stop()
