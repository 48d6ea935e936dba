"""zigraph under gunicorn: threaded workers, request limits, and error answers with our headers."""

from __future__ import annotations

from typing import Any

from service.security import SECURITY_HEADERS

LIMIT_REQUEST_LINE = 8190  # gunicorn's largest; the application answers 414 before it
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
        "worker_class": "gthread",
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
    }


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


def run_gunicorn(options: dict, config: dict[str, Any]) -> None:
    """Serve ``create_app(config)`` under gunicorn until it is stopped.

    :param config: the settings every worker's application takes (the store, the public URL),
        over what the environment says; the workers are forked with it.
    """
    import gunicorn.util
    from gunicorn.app.base import BaseApplication

    # gunicorn writes its own error answers (400, 414, 431) through this one function; ours
    # carries the same security headers as every page. Set before the workers fork.
    gunicorn.util.write_error = write_server_error

    class ZigraphApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from service import create_app
            from service.store import get_store

            app = create_app(config)
            with app.app_context():  # in the worker: open the store, boot its evaluators
                get_store().start()
            return app

    ZigraphApplication().run()
