"""zigraph: a linked-data service for Indonesia's Zona Integritas designations."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.namespaces import ID_BASE


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the zigraph application."""
    app = Flask(__name__)
    app.config.from_mapping(
        STORE_DIR=None,  # a built embedded store; None builds the shipped data into a temp dir
        ENDPOINT=None,  # a remote SPARQL 1.1 query endpoint instead of the embedded store
        QUERY_TIMEOUT=10.0,  # seconds a query may run
        RESULT_LIMIT=10000,  # most rows or triples one query returns
        BASE_IRI=ID_BASE,  # the entity IRIs this deployment answers for
        EVALUATORS=2,  # query evaluator processes per web process
        EVALUATOR_MEMORY_MB=2048,  # heap cap of one evaluator (0: none); past it, a 500
        MAX_CONTENT_LENGTH=512 * 1024,  # bytes of a request body (413 beyond)
        MAX_URL_LENGTH=8192,  # bytes of a URL's query string (414 beyond)
        DUMP_MAX_AGE=3600,  # seconds caches may keep dumps, descriptions and query answers
        RESULT_CACHE_MB=64,  # memory for the answers to repeated queries, per web process (0: off)
    )
    app.config.from_prefixed_env("ZIGRAPH")
    if test_config is not None:
        app.config.from_mapping(test_config)

    from service import dumps, errors, sparql, store

    store.init_app(app)
    errors.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(dumps.bp)

    from service import pages

    pages.init_app(app)
    return app
