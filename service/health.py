"""``/healthz``: whether the store answers, with its size and the data's version."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from service.errors import ZigraphError
from service.store import get_store

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    """Answer whether the store is reachable, with its size and dataset version."""
    backend = get_store()
    try:
        health = backend.health()
    except ZigraphError as error:
        response = jsonify(status="unavailable", store=backend.name, message=error.message)
        response.status_code = 503
        return response
    return jsonify(status="ok", **health)
