"""Ask a remote store to fetch a URL of zigraph's own, and tell whether the request arrived.

Over the embedded store a query cannot reach the network: its evaluator has none. A remote
store is another program, with its own network, and with ways of its own to make a request
(``SERVICE``, Virtuoso's ``bif:http_get`` and its sponger). Whatever zigraph refuses in a
client's query, a store that can reach out is one parser disagreement away from doing so for
a client. So ``zigraph serve --endpoint`` asks the store itself, in each way, to fetch a
one-time URL on a listener zigraph opens for the purpose, and listens.

The listener binds the address that zigraph's own connections to the store come from: the
store can route to it, whether it runs on this machine or another. A store that refuses a
way (an error, say "SERVICE is not allowed") cannot reach out through it; only a request
arriving at the listener says that it can.
"""

from __future__ import annotations

import http.server
import logging
import secrets
import socket
import threading
import time
from urllib.parse import urlsplit

from service.errors import BackendError, QueryTimeout
from service.store.remote import RemoteBackend

log = logging.getLogger(__name__)
PROBE_SECONDS = 10.0  # the most one probe query may take; a fetch from a local listener is quick
LATE_SECONDS = 0.5  # how long to listen after the last probe, for a request sent late
# The ways a store may be asked to fetch a URL, by name: zigraph's own query texts.
WAYS = {
    "SERVICE": "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "FROM": "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
    "FROM NAMED": "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "bif:http_get": "SELECT (bif:http_get('{url}') AS ?body) WHERE {{ }}",
    "bif:http_client": "SELECT (bif:http_client('{url}') AS ?body) WHERE {{ }}",
    "sponger": 'DEFINE get:soft "replace" SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}',
}


class Listener(http.server.ThreadingHTTPServer):
    """An HTTP server on one address that records the path of every request it receives."""

    daemon_threads = True

    def __init__(self, address: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.address_family = family
        self.paths: list[str] = []
        super().__init__((address, 0), RecordingHandler)
        host = f"[{address}]" if family == socket.AF_INET6 else address
        self.base = f"http://{host}:{self.server_address[1]}"


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Record the request and answer it with an empty 200, whatever its method."""

    server: Listener

    def _record(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = _record

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing: what arrived is reported by the probe."""


def local_address_towards(endpoint: str) -> str:
    """Return the address of this machine that a connection to ``endpoint`` comes from."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    family, kind, _, _, target = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind) as sock:
        sock.connect(target)  # a datagram socket sends nothing: this only picks the route
        return sock.getsockname()[0]


def outbound_ways(backend: RemoteBackend, timeout: float = PROBE_SECONDS) -> list[str]:
    """Return the ways (names in ``WAYS``) by which the store fetched a URL of zigraph's.

    An empty list: the store made no request, in any of these ways. Raises
    ``BackendUnavailable`` when the store cannot be asked at all.
    """
    listener = Listener(local_address_towards(backend.endpoint))
    thread = threading.Thread(target=listener.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    token = secrets.token_urlsafe(16)
    try:
        for number, (way, template) in enumerate(WAYS.items()):
            url = f"{listener.base}/{token}/{number}"
            try:
                backend.probe(template.format(url=url), timeout)
            except (BackendError, QueryTimeout) as error:
                log.debug("the store refused the %s probe: %s", way, error.message)
        time.sleep(LATE_SECONDS)
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(5)
    names = list(WAYS)
    reached = []
    for path in listener.paths:
        _, _, rest = path.partition(f"/{token}/")
        index = rest.split("/", 1)[0].split("?", 1)[0]
        way = names[int(index)] if index.isdigit() and int(index) < len(names) else "unknown"
        if way not in reached:
            reached.append(way)
    return reached
