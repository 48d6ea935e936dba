"""zigraph: a linked-data service for Indonesia's Zona Integritas designations."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.settings import Settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the zigraph application."""
    app = Flask(__name__)
    app.config.from_mapping(Settings().as_config())
    app.config.from_prefixed_env("ZIGRAPH", loads=str)  # Settings reads each as its type
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings = Settings.from_mapping(app.config)  # typed, read once, checked here
    app.config.update(settings.as_config())  # Flask reads MAX_CONTENT_LENGTH itself
    app.extensions["zigraph.settings"] = settings

    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        # Flask's documented way to wrap its WSGI app; mypy takes the attribute for a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    from service import (
        citations,
        descriptions,
        downloads,
        error_handlers,
        health,
        metrics,
        security,
        sparql,
        store,
    )

    metrics.init_app(app)  # first: its clock starts before the other hooks run
    security.init_app(app)
    store.init_app(app)
    error_handlers.init_app(app)
    for module in (sparql, descriptions, downloads, health, citations):
        app.register_blueprint(module.bp)

    from service import pages

    pages.init_app(app)
    return app
