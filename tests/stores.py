"""Real SPARQL servers for the tests: the Oxigraph server and Virtuoso, each on its own ports.

Each server runs over a folder of its own and is stopped by its fixture however the test ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SERVER_TIMEOUT_S = 10  # the store's own time limit; zigraph's is shorter in the tests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, seconds: float = 120) -> None:
    """Return once ``port`` accepts connections; raise if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with status {process.returncode}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port} within {seconds:g} s")


def stop(process: subprocess.Popen | None) -> None:
    """Stop a server process: terminate, then kill if it does not exit."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def oxigraph_binary() -> str:
    """Return the oxigraph server binary of this environment, or skip."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        pytest.skip("the oxigraph server binary is not installed (pip install oxigraph)")
    return found


class Listener:
    """A TCP listener on loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class StoreServer:
    """A store process on its own loopback port; subclasses say how to start it."""

    query_path = "/query"
    graph_store_path = "/store"

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return self.base + self.query_path

    @property
    def graph_store(self) -> str:
        return self.base + self.graph_store_path

    def stop(self) -> None:
        stop(self.process)
        self.process = None


class OxigraphServer(StoreServer):
    """An ``oxigraph serve`` process on a local port, over a folder that outlives restarts."""

    def __init__(self, location: Path, union_default_graph: bool = True) -> None:
        super().__init__()
        self.location = location
        self.union_default_graph = union_default_graph

    def start(self) -> None:
        command = [oxigraph_binary(), "serve", "--location", str(self.location)]
        command += ["--bind", f"127.0.0.1:{self.port}", "--timeout-s", str(SERVER_TIMEOUT_S)]
        if self.union_default_graph:
            command.append("--union-default-graph")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process, "oxigraph serve", 60)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = ., {folder}
DefaultIsolation = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = 10
MaxClientConnections = 10
KeepAliveTimeout = 10

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {timeout}
MaxQueryCostEstimationTime = 0
DefaultQuery = SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1
"""


class VirtuosoServer(StoreServer):
    """A Virtuoso (Debian's virtuoso-minimal) process with its own ini, folder and ports."""

    query_path = "/sparql"
    graph_store_path = "/sparql-graph-crud-auth"  # digest auth, as dba
    user = "dba"
    password = "zigraph-test-secret"  # set at start, so that a printed password would show

    def __init__(self, folder: Path, max_rows: int = 10000) -> None:
        self.binary = shutil.which("virtuoso-t")
        self.isql = shutil.which("isql-vt")
        if not (self.binary and self.isql):
            pytest.skip("Virtuoso is not installed (apt-get install virtuoso-minimal)")
        super().__init__()
        self.folder = folder
        self.max_rows = max_rows
        self.sql_port = free_port()

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(
            VIRTUOSO_INI.format(
                folder=self.folder,
                sql_port=self.sql_port,
                http_port=self.port,
                max_rows=self.max_rows,
                timeout=SERVER_TIMEOUT_S,
            )
        )
        self.process = subprocess.Popen(
            [self.binary, "+foreground", "+configfile", str(ini)],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The HTTP port opens before the SQL port answers; both are needed.
        wait_for_port(self.sql_port, self.process, "virtuoso-t")
        wait_for_port(self.port, self.process, "virtuoso-t")
        self.sql(f"USER_CHANGE_PASSWORD('dba', 'dba', '{self.password}');", password="dba")

    def sql(self, statements: str, password: str | None = None) -> str:
        """Run SQL statements through isql as dba and return its output."""
        password = password or self.password
        result = subprocess.run(
            [self.isql, str(self.sql_port), self.user, password, f"exec={statements}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        if "*** Error" in result.stdout + result.stderr:  # isql exits 0 after an SQL error
            raise RuntimeError(f"isql: {result.stdout + result.stderr}")
        return result.stdout
