"""An isolated evaluator opens no socket, makes no foreign system call and lets no lookup out.

Each check runs in a fresh interpreter (``python -c``) that isolates itself as an evaluator
does, so the test process keeps its network. The name-lookup checks build a small world of
their own first, in new user, mount and network namespaces: a resolver on 127.0.0.1:53 named
by ``/etc/resolv.conf`` and a daemon socket where glibc looks for nscd, both recording what
reaches them. Without isolation a lookup reaches both, which shows the checks can fail.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import platform
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from service.store import isolation
from tests.conftest import REPO

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
X32_SYSCALL_BIT = 0x40000000
PROBE_NAME = "zigraph-lookup-probe.example"  # in no hosts file: only a resolver can answer


def run_isolated(mode: str, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter after ``isolate(mode)``; it prints its findings."""
    program = f"from service.store.isolation import isolate\nisolate({mode!r})\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(params=isolation.MODES)
def mode(request) -> str:
    if isolation.probe(request.param) is None:
        pytest.skip(f"{request.param} isolation is not available on this machine")
    return request.param


OPEN_SOCKETS = """
import errno, json, socket
found = {}
for name in ("AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK", "AF_PACKET"):
    try:
        socket.socket(getattr(socket, name), socket.SOCK_DGRAM).close()
        found[name] = "opened"
    except OSError as error:
        found[name] = errno.errorcode[error.errno]
try:
    socket.socketpair()
    found["socketpair"] = "opened"
except OSError as error:
    found["socketpair"] = errno.errorcode[error.errno]
print(json.dumps(found))
"""


def test_seccomp_filter_refuses_a_socket_of_every_family():
    """Guards the hand-built filter's gap: it let AF_UNIX (and every non-IP family) through."""
    if isolation.probe("seccomp") is None:
        pytest.skip("seccomp isolation is not available on this machine")
    done = run_isolated("seccomp", OPEN_SOCKETS)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout).values()) == {"EACCES"}


def test_netns_isolation_refuses_unix_sockets_too():
    """A network namespace does not hide Unix sockets bound to a path: the filter does."""
    if isolation.probe("netns") is None or isolation.pyseccomp is None:
        pytest.skip("netns isolation or libseccomp is not available on this machine")
    done = run_isolated("netns", OPEN_SOCKETS)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout).values()) == {"EACCES"}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 numbers exist on x86_64 only")
def test_x32_system_call_kills_the_process(mode):
    """Guards the hand-built filter's gap: it compared numbers without the x32 bit."""
    code = f"""
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall({X32_SYSCALL_BIT | 41}, socket.AF_INET, socket.SOCK_STREAM, 0))
"""
    done = run_isolated(mode, code)
    assert done.returncode == -signal.SIGSYS, (done.returncode, done.stdout, done.stderr)


def test_without_libseccomp_seccomp_is_unavailable_and_netns_still_works(tmp_path):
    """A machine without libseccomp2 gets an answer from probe(), not a crash."""
    # A module named pyseccomp that fails as pyseccomp fails when libseccomp.so.2 is missing.
    (tmp_path / "pyseccomp.py").write_text('raise RuntimeError("Unable to find libseccomp")\n')
    code = """
from service.store import isolation
print(isolation.probe("seccomp"), isolation.probe("netns"), isolation.probe())
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seccomp, netns, first = done.stdout.split()
    assert seccomp == "None"
    if netns != "None":
        assert first == "netns"


# --- name lookups, in a world of their own ---------------------------------------------


def _libc_call(name: str, *arguments: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*arguments) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")


def _enter_lookup_world(folder: str) -> None:
    """Become root of new namespaces where lookups go to listeners of this process."""
    uid, gid = os.getuid(), os.getgid()
    resolv_conf = os.path.realpath("/etc/resolv.conf")
    with open(os.path.join(folder, "resolv.conf"), "w") as file:
        file.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    _libc_call("unshare", isolation.CLONE_NEWUSER | CLONE_NEWNS | isolation.CLONE_NEWNET)
    for path, line in [("uid_map", f"0 {uid} 1"), ("setgroups", "deny"), ("gid_map", f"0 {gid} 1")]:
        with open(f"/proc/self/{path}", "w") as file:
            file.write(line)
    _libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
    run_folder = os.path.realpath("/var/run")  # where glibc looks for nscd's socket
    _libc_call("mount", b"tmpfs", run_folder.encode(), b"tmpfs", 0, None)
    os.makedirs(os.path.join(run_folder, "nscd"))
    if resolv_conf.startswith(run_folder + "/"):  # hidden by the tmpfs: written anew
        os.makedirs(os.path.dirname(resolv_conf), exist_ok=True)
        with open(resolv_conf, "w") as file:
            file.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    else:
        source = os.path.join(folder, "resolv.conf").encode()
        _libc_call("mount", source, resolv_conf.encode(), None, MS_BIND, None)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(control, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))


def lookup_in_world(mode: str) -> None:
    """Print what a lookup by a process isolated with ``mode`` made reach the listeners."""
    with tempfile.TemporaryDirectory() as folder:
        _enter_lookup_world(folder)
        resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        resolver.bind(("127.0.0.1", 53))
        resolver_tcp = socket.create_server(("127.0.0.1", 53))
        nscd = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        nscd.bind(os.path.join(os.path.realpath("/var/run"), "nscd", "socket"))
        nscd.listen()
        pid = os.fork()
        if pid == 0:  # the evaluator
            try:
                isolation.isolate(mode)
                for name in ("localhost", PROBE_NAME):
                    try:
                        socket.getaddrinfo(name, 80)
                    except OSError:
                        pass
            finally:
                os._exit(0)
        reached: set[str] = set()
        listeners = {resolver: "dns", resolver_tcp: "dns", nscd: "nscd"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select(list(listeners), [], [], 0.1)
            for listener in ready:
                reached.add(listeners[listener])
                if listener is resolver:
                    listener.recv(4096)
                else:
                    listener.accept()[0].close()  # glibc then goes on without the daemon
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
        else:
            os.kill(pid, signal.SIGKILL)
        print(json.dumps(sorted(reached)))


def looked_up(mode: str) -> list[str]:
    code = f"from tests.test_isolation import lookup_in_world\nlookup_in_world({mode!r})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=90
    )
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no namespaces to build a lookup world in: {done.stderr.splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_isolation_a_lookup_reaches_the_resolver_and_the_daemon():
    """The listeners see what an unisolated lookup does: the test below can fail."""
    assert looked_up("none") == ["dns", "nscd"]


def test_no_name_lookup_leaves_an_isolated_evaluator(mode):
    """Guards the lookups that ran inside the evaluator, over DNS or a resolver daemon."""
    assert looked_up(mode) == []
