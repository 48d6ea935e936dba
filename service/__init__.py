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
        EVALUATORS=3,  # evaluator processes for clients' queries, per web process
        SERVICE_EVALUATORS=2,  # evaluators for the service's own queries (pages, health, dumps)
        QUERIES_PER_CLIENT=2,  # queries one address may have running or waiting, per process
        CLIENT_NICENESS=10,  # how much lower the CPU priority of clients' evaluators is
        EVALUATOR_ISOLATION="auto",  # netns, seccomp, or auto: the first the kernel allows
        ALLOW_NETWORKED_EVALUATORS=False,  # serve even where evaluators keep the network
        ALLOW_NETWORKED_STORE=False,  # serve a remote store that can make requests of its own
        PUBLIC_URL=None,  # the base of absolute URLs in descriptions (default: the listen address)
        PROXY_HOPS=0,  # trusted reverse proxies whose X-Forwarded-* headers are believed
        EVALUATOR_MEMORY_MB=1024,  # heap cap of one evaluator (0: none); past it, a 500
        MAX_CONTENT_LENGTH=512 * 1024,  # bytes of a request body (413 beyond)
        MAX_URL_LENGTH=8000,  # bytes of a URL's query string (414 beyond)
        DUMP_MAX_AGE=3600,  # seconds caches may keep dumps, descriptions and query answers
        RESULT_CACHE_MB=64,  # memory for the answers to repeated queries, per web process (0: off)
    )
    app.config.from_prefixed_env("ZIGRAPH")
    if test_config is not None:
        app.config.from_mapping(test_config)

    if int(app.config["PROXY_HOPS"]):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from service import dumps, errors, sparql, store

    store.init_app(app)
    errors.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(dumps.bp)

    from service import pages

    pages.init_app(app)
    return app
