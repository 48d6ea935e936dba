"""zigraph under gunicorn: threaded workers, request limits, and error answers with our headers."""

from __future__ import annotations

import gc
import logging
import os
import re
import selectors
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from gunicorn.glogging import Logger
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

from service.security import SECURITY_HEADERS

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

LIMIT_REQUEST_LINE = 8190  # gunicorn's largest; the application answers 414 before it
# A client has this long to send its request line and headers, then its body: a thread reading
# a request that trickles in byte by byte is given back, where gunicorn alone waits forever.
HEAD_SECONDS = 10.0
BODY_SECONDS = 60.0
SEND_SECONDS = 60.0  # a client that reads no answer for this long is dropped
# How long a web process's thread may hold the interpreter before another may take it (Python's
# default: 5 ms). A thread whose query answer has arrived, or gunicorn's thread that hands it
# the next request, waited up to that long behind a thread rendering a page, once per query of
# a page; at 0.5 ms, pages never visited before at concurrency 8 answered p99 210-235 ms
# against 308-332 ms, measured by hand (docs/benchmarks.md, target 3).
SWITCH_INTERVAL = 0.0005
# A connection that ends is closed as RFC 9112 section 9.6 asks: its sending side first, then
# what the client still sends is read and dropped until it closes too, at most this long and
# this much, so that unread bytes do not make the kernel reset the connection and cut the
# answer short (gunicorn's own figures). ``Lingering`` does it off the worker's main thread.
LINGER_SECONDS = 2.0
LINGER_BYTES = 65536
LINGER_MOST = 1024  # connections lingering at once in a web process; past it, closed at once
SECURITY_HEADERS_OF_SERVER_ERRORS = (
    "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS.items())
    + "Cache-Control: no-store\r\n"
)


def gunicorn_options(host: str, port: int, workers: int, threads: int, timeout: float) -> dict:
    """Return the gunicorn settings: threaded workers, so a slow query blocks no one else."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": f"{__name__}.DeadlineWorker",
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
        "logger_class": f"{__name__}.AccessLogger",
    }


ATOM = re.compile(r"%\(([^)]*)\)")
COMMON_ATOMS = frozenset("hlutrsbfa")  # the atoms of gunicorn's default access log format


class AccessLogger(Logger):
    """gunicorn's logger, whose access line is built only from the atoms its format names.

    gunicorn's own builds every atom first, a copy of each request header, response header and
    WSGI environ variable among them: by hand, 26 µs of a request's CPU for the line against
    12 µs. The line is the same, whatever the format; a format naming other atoms than the
    default's gets gunicorn's own.
    """

    def setup(self, cfg) -> None:
        """Set the logger up (gunicorn does it again on a reload), and read the format."""
        self._common_only = set(ATOM.findall(cfg.access_log_format)) <= COMMON_ATOMS
        super().setup(cfg)

    def atoms(self, resp, req, environ, request_time) -> dict:
        """Return the atoms of the access log format, each as gunicorn's ``atoms`` gives it."""
        if not self._common_only:
            return super().atoms(resp, req, environ, request_time)
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": _status_code(resp.status),
            "b": str(sent) if sent is not None else "-",
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }


def _status_code(status):
    """Return the status as gunicorn's access log writes it: its code, without the reason."""
    return status.split(None, 1)[0] if isinstance(status, str) else status


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


def prepare_app(config: dict[str, Any]) -> Flask:
    """Return ``create_app(config)`` with its templates compiled, for ``run_gunicorn``.

    The application is made once, in gunicorn's master, and every worker is forked with it:
    each worker compiled every template itself, 0.4-0.7 s at once with the other's start and
    its evaluators' boot, before its first answer. Nothing here opens the store or leaves a
    thread behind, so it can be made while the store is built (``zigraph serve`` does).

    :param config: the settings every worker's application takes (the store, the public URL),
        over what the environment says.
    """
    from service import create_app

    app = create_app(config)
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
    return app


def run_gunicorn(options: dict, app: Flask) -> None:
    """Serve ``app`` (made by ``prepare_app``) under gunicorn until it is stopped.

    Each worker opens the store and boots its evaluators after the fork (``load``).
    """
    import gunicorn.util
    from gunicorn.app.base import BaseApplication

    # gunicorn writes its own error answers (400, 414, 431) through this one function; ours
    # carries the same security headers as every page. Set before the workers fork.
    gunicorn.util.write_error = write_server_error
    # gunicorn's threaded worker closes an ending connection on its main thread, waiting for
    # the client to close first: four clients that sent "Connection: close" and never read
    # held that thread, and so every other request, for 30 s. Ours waits elsewhere.
    gunicorn.util.close_graceful = close_lingering

    class ZigraphApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from service.errors import ZigraphError
            from service.pages.browse import open_saved_search_index
            from service.store import get_store
            from service.warming import warm_pages

            sys.setswitchinterval(SWITCH_INTERVAL)
            with app.app_context():  # in the worker: open the store, boot its evaluators
                get_store().start()
                try:
                    open_saved_search_index()
                except ZigraphError as error:  # the store is away: the first search opens it
                    app.logger.warning("the search index was not opened at start: %s", error)
            if app.extensions["zigraph.settings"].page_cache_mb:
                warm_pages(app)  # the home page, before its first visitor (service.warming)
            # What the worker has loaded (modules, templates, the search index, the pages
            # rendered ahead) lives as long as it does. Set aside from the garbage collector,
            # a full collection walks only what requests made since: by hand at a million
            # triples 0.1 ms against 20 ms, a pause that came every few hundred pages.
            gc.freeze()
            return app

    ZigraphApplication().run()


class Lingering:
    """Connections being closed: one thread reads and drops what their clients still send,
    until each client closes or LINGER_SECONDS pass, then closes them (``close_lingering``).
    """

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._due: dict[socket.socket, tuple[float, int]] = {}  # deadline, bytes read
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, name="zigraph-linger", daemon=True)
        self.thread.start()

    def add(self, sock: socket.socket, read: int = 0) -> None:
        """Close ``sock``, whose sending side is shut and ``read`` bytes drained, once its
        client is done."""
        with self._lock:
            if len(self._due) >= LINGER_MOST:
                sock.close()
                return
            self._due[sock] = (time.monotonic() + LINGER_SECONDS, read)
            self._selector.register(sock, selectors.EVENT_READ)
        try:
            os.write(self._wake_write, b"\0")
        except BlockingIOError:  # the thread is woken already
            pass

    def _run(self) -> None:
        while True:
            try:
                self._round()
            except Exception:  # never the end of the thread: its sockets would stay open
                log.exception("closing lingering connections failed")
                time.sleep(0.1)

    def _round(self) -> None:
        """Wait for a client to send or close, or a deadline to pass, and act on it."""
        with self._lock:
            nearest = min((due for due, _ in self._due.values()), default=None)
        wait = None if nearest is None else max(0.0, nearest - time.monotonic())
        for key, _ in self._selector.select(wait):
            if key.fileobj == self._wake_read:
                try:
                    os.read(self._wake_read, 4096)
                except BlockingIOError:
                    pass
                continue
            self._read(key.fileobj)  # type: ignore[arg-type]
        now = time.monotonic()
        with self._lock:
            late = [sock for sock, (due, _) in self._due.items() if due <= now]
        for sock in late:
            self._close(sock)

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        with self._lock:
            due, read = self._due.get(sock, (0.0, 0))
            self._due[sock] = (due, read + len(data))
        if not data or read + len(data) >= LINGER_BYTES:
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            if self._due.pop(sock, None) is None:
                return
            self._selector.unregister(sock)
        sock.close()


_lingering: Lingering | None = None
_lingering_lock = threading.Lock()


def close_lingering(sock, timeout: float = LINGER_SECONDS, max_drain: int = LINGER_BYTES) -> None:
    """Close a client's connection as gunicorn's ``close_graceful`` does, without waiting.

    Its place in gunicorn (``run_gunicorn`` sets it), with its signature; the time and bytes
    a client is given are LINGER_SECONDS and LINGER_BYTES. What the client has sent is read at
    once: a client that has closed already (most have, by then: they read their answer and
    left) is closed here. One still connected is left to the web process's ``Lingering``
    thread; handing every connection to it cost the pages 1.4-1.7 times their p95 and p99
    under attack (bench/safety.py).
    """
    global _lingering
    if isinstance(sock, DeadlineReads):
        sock = sock.raw
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
    except OSError:  # the client is gone already
        sock.close()
        return
    read = 0
    while read < LINGER_BYTES:
        try:
            data = sock.recv(4096)
        except BlockingIOError:  # the client is still connected: it is given time
            break
        except OSError:
            data = b""
        if not data:
            sock.close()
            return
        read += len(data)
    if read >= LINGER_BYTES:  # as much as a client is let send after its answer
        sock.close()
        return
    with _lingering_lock:
        if _lingering is None:  # in the worker, after the fork: the thread is its own
            _lingering = Lingering()
    _lingering.add(sock, read)


class DeadlineReads:
    """A client socket whose reads share one deadline, so a slow client cannot keep a thread.

    gunicorn's threaded worker reads a request's head and body with blocking reads and no time
    limit: eight sockets sending a byte now and then held every thread of the service. Every
    read here waits at most until the deadline, and a send at most SEND_SECONDS.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline: float | None = None
        self.reading_head = False

    def recv(self, size: int, *flags: int) -> bytes:
        """Read as a socket does, until the deadline; past it, answer 408 or end the body."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self._expired()
            self._sock.settimeout(left)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            self._expired()
            raise  # unreachable: _expired raises

    def _expired(self) -> None:
        if self.reading_head:  # nothing was answered yet: say why the connection ends
            self.reading_head = False
            try:
                self._sock.settimeout(1.0)
                write_server_error(
                    self._sock, 408, "Request Timeout", "the request was not sent in time"
                )
            except OSError:
                pass
        raise NoMoreData(b"")  # gunicorn closes the connection quietly

    @property
    def raw(self) -> socket.socket:
        """The client's socket itself."""
        return self._sock

    def sendall(self, data: bytes, *flags: int) -> None:
        """Send as a socket does, giving up after SEND_SECONDS."""
        self._sock.settimeout(SEND_SECONDS)
        self._sock.sendall(data, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineWorker(ThreadWorker):
    """gunicorn's threaded worker, with a deadline on reading each request (``DeadlineReads``)."""

    def handle(self, conn):
        """Read and answer a request, its head due within HEAD_SECONDS."""
        if not isinstance(conn.sock, DeadlineReads):
            conn.sock = DeadlineReads(conn.sock)
        conn.sock.deadline = time.monotonic() + HEAD_SECONDS
        conn.sock.reading_head = True
        return super().handle(conn)

    def handle_request(self, req, conn):
        """Answer a request whose head has arrived, its body due within BODY_SECONDS."""
        conn.sock.reading_head = False
        conn.sock.deadline = time.monotonic() + BODY_SECONDS
        return super().handle_request(req, conn)
