"""``/metrics``: what the service is doing, in the Prometheus text format.

Each web process keeps its own figures (prometheus-client's multiprocess mode is not used):
a scrape reads the process that answers it, and every series carries that process's id as
its ``worker`` label. Per request the service pays one histogram observation (latency by
route and status class) and, on ``/sparql`` and entity IRIs and documents, one counter increment
(answer or page cache hit or miss); error answers count one more, in
``service.error_handlers``. Everything else (the evaluators busy and waiting, the caches'
sizes, the data version) is read when
``/metrics`` is scraped.

``/metrics`` tells whoever reads it how busy the service is, so it answers only requests from
the machine itself (loopback, as ProxyFix reports the client) unless ``metrics_public`` is
set; anyone else gets a 404.
"""

from __future__ import annotations

import gc
import ipaddress
import os
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from werkzeug.exceptions import NotFound

from service.answer_cache import AnswerCache
from service.errors import ZigraphError
from service.security import CACHE_HEADER
from service.settings import get_settings
from service.store.admission import Admission
from service.store.evaluator import EvaluatorPool

bp = Blueprint("metrics", __name__)

STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}
# The routes answered from a cache, and the counter of each cache's lookups.
CACHED_ROUTES = {
    "sparql.query": "answer_cache",
    "entity.doc": "page_cache",
    "entity.identifier": "page_cache",
}


class Metrics:
    """The figures of one application in one process, in their own registry."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "zigraph_request_seconds",
            "Seconds from a request's arrival to its answer's headers, by route and status class",
            ["route", "status"],
            registry=self.registry,
        )
        self.error_answers = Counter(
            "zigraph_error_answers",
            "Error answers by code (busy, too-many-queries, query-timeout, query-refused, "
            "query-syntax, evaluator-crashed, engine-failed, …) and the parser's reason",
            ["code", "reason"],
            registry=self.registry,
        )
        self.answer_cache = Counter(
            "zigraph_answer_cache_lookups",
            "/sparql answers by whether the answer cache held them (hit, 304 included) or not",
            ["result"],
            registry=self.registry,
        )
        self.page_cache = Counter(
            "zigraph_page_cache_lookups",
            "Entity pages and documents by whether the page cache held them (hit, 304 included) "
            "or not",
            ["result"],
            registry=self.registry,
        )
        self.registry.register(StateCollector(app))
        ProcessCollector(registry=self.registry)


class StateCollector(Collector):
    """Read the evaluators, the answer cache and the data version when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily(
            "zigraph_lane_slots",
            "Queries a lane runs at once (its evaluators, or places at a remote store)",
            labels=["lane"],
        )
        running = GaugeMetricFamily(
            "zigraph_lane_running", "Queries of a lane holding a slot now", labels=["lane"]
        )
        waiting = GaugeMetricFamily(
            "zigraph_lane_waiting", "Queries of a lane waiting for a slot now", labels=["lane"]
        )
        busy = GaugeMetricFamily(
            "zigraph_evaluators_busy",
            "Evaluator processes of a pool running a call now",
            labels=["pool"],
        )
        replaced = CounterMetricFamily(
            "zigraph_evaluators_replaced",
            "Evaluator processes started in place of one killed (a crash, a timeout) or found dead",
            labels=["pool"],
        )
        recycled = CounterMetricFamily(
            "zigraph_evaluators_recycled",
            "Evaluator processes started in place of one that idled with grown store caches",
            labels=["pool"],
        )
        backend = self.app.extensions.get("zigraph.store")  # never opened by a scrape
        if backend is not None:
            for lane, admission, pool in lanes(backend):
                admitted = admission.admitted
                held = min(admitted, admission.size)
                size.add_metric([lane], admission.size)
                running.add_metric([lane], held)
                waiting.add_metric([lane], admitted - held)
                if pool is not None:
                    busy.add_metric([lane], len(pool.busy_pids()))
                    replaced.add_metric([lane], pool.replaced)
                    recycled.add_metric([lane], pool.recycled)
        yield from (size, running, waiting, busy, replaced, recycled)
        for name, extension, what in (
            ("answer", "zigraph.answers", "answers"),
            ("page", "zigraph.pages", "pages"),
        ):
            cache: AnswerCache | None = self.app.extensions.get(extension)
            yield GaugeMetricFamily(
                f"zigraph_{name}_cache_entries",
                f"{what.capitalize()} kept in the {name} cache",
                len(cache or ()),
            )
            yield GaugeMetricFamily(
                f"zigraph_{name}_cache_bytes",
                f"Bytes counted for the {what} kept",
                cache.size if cache is not None else 0,
            )
        yield GaugeMetricFamily(
            "zigraph_gc_frozen_objects",
            "Objects the web process set aside from garbage collection once loaded",
            gc.get_freeze_count(),
        )
        if backend is not None:
            try:  # a remote store's: its record's, and none without one
                version = backend.fixed_version()
            except ZigraphError:  # no store built: /healthz says so, the figures still answer
                version = None
            if version is not None:
                info = InfoMetricFamily("zigraph_data", "The dataset served", labels=["store"])
                info.add_metric([backend.name], {"version": version})
                yield info


def lanes(backend: object) -> Iterator[tuple[str, Admission, EvaluatorPool | None]]:
    """Yield each lane of a backend: its name, its admission, and its evaluator pool if any."""
    from service.store.embedded import EmbeddedBackend
    from service.store.remote import RemoteBackend

    if isinstance(backend, EmbeddedBackend):
        yield "service", backend.service_pool.admission, backend.service_pool
        yield "client", backend.client_pool.admission, backend.client_pool
    elif isinstance(backend, RemoteBackend):
        yield "client", backend.client_lane, None
        readers = backend.reading_pool()
        yield "reader", readers.admission, readers


class PerWorker(Collector):
    """Label every sample of a registry with this process's id, when scraped."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        worker = str(os.getpid())
        for family in self.registry.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, "worker": worker})
                for sample in family.samples
            ]
            yield family


def get_metrics() -> Metrics | None:
    """Return the current application's metrics (None: not set up, as in a bare app)."""
    return current_app.extensions.get("zigraph.metrics")


def count_error_answer(code: str, reason: object = "") -> None:
    """Count an error answer by its code (and the parser's reason for a refusal)."""
    metrics = get_metrics()
    if metrics is not None:
        metrics.error_answers.labels(code, str(reason or "")).inc()


def start_clock() -> None:
    """Note when the request arrived."""
    g.zigraph_arrived = time.perf_counter()


def observe(response: Response) -> Response:
    """Count the answer: its latency by route and status class, and the answer cache's part."""
    arrived = g.pop("zigraph_arrived", None)
    if arrived is None:  # an earlier before_request answered before the clock started
        return response
    metrics: Metrics = current_app.extensions["zigraph.metrics"]
    rule = request.url_rule
    route = rule.endpoint if rule is not None else "unmatched"  # never the path: bounded
    status = STATUS_CLASSES.get(response.status_code // 100, "other")
    metrics.latency.labels(route, status).observe(time.perf_counter() - arrived)
    if route in CACHED_ROUTES:
        state = response.headers.get(CACHE_HEADER)
        if state is not None:
            getattr(metrics, CACHED_ROUTES[route]).labels(state).inc()
    return response


def from_loopback() -> bool:
    """Return whether the request comes from this machine (127.0.0.0/8 or ::1)."""
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.route("/metrics")
def metrics() -> Response:
    """Answer this process's figures in the Prometheus text format (loopback only by default)."""
    if not (get_settings().metrics_public or from_loopback()):
        raise NotFound()
    registry = current_app.extensions["zigraph.metrics"].registry
    response = Response(generate_latest(PerWorker(registry)), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control.no_store = True
    return response


def init_app(app: Flask) -> None:
    """Keep the figures of ``app`` and answer them at ``/metrics``; start the clock first."""
    app.extensions["zigraph.metrics"] = Metrics(app)
    app.before_request(start_clock)
    app.after_request(observe)
    app.register_blueprint(bp)
