"""The linked-data HTML pages: entity pages, browse and search, ontology, shapes and query."""

from __future__ import annotations

from flask import Flask

from service import i18n
from service.pages.common import url_with
from service.urls import public_request_url


def init_app(app: Flask) -> None:
    """Register the page blueprints and the interface languages."""
    from service.pages import browse, entity, ontology, query, tables

    i18n.init_app(app)
    for module in (entity, browse, ontology, query, tables):
        app.register_blueprint(module.bp)
    app.jinja_env.globals.update(url_with=url_with, public_request_url=public_request_url)
