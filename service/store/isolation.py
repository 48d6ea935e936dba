"""Take the network away from an evaluator process, so no query can make a connection.

Two ways, tried in order, each enforced by the kernel whatever the query engine does:

- ``netns``: the process enters a new user namespace (where it holds no privilege on the
  host) and a new, empty network namespace. It has no interface but a loopback that is
  down: every connection over IP, to another host or to this one, fails with "network
  unreachable". A namespace does not hide Unix sockets bound to a path, so a local resolver
  daemon (nscd, systemd-resolved) could still look a name up for the process: where
  libseccomp is installed, the filter below is added as well.
- ``seccomp``: where the kernel refuses namespaces (some container runtimes), the filter
  alone.

The filter is compiled by libseccomp (through ``pyseccomp``), which checks the architecture
of every system call:

- ``socket()`` and ``socketpair()`` fail with EACCES for every address family (IP, Unix,
  netlink, packet...), and so do ``io_uring_setup()`` (io_uring opens sockets of its own),
  ``pidfd_getfd()`` (which copies a socket out of another process), ``ptrace()`` and
  ``process_vm_writev()`` (which make another process, such as the parent, act for this one);
- a system call of another ABI than the native one (i386's on x86_64, or an x32 number, with
  ``__X32_SYSCALL_BIT`` set) kills the process.

What is left: the sockets the process already holds when the filter is loaded (an
evaluator's pipe to its parent), and files. A name lookup therefore reads ``/etc/hosts`` (a
name found there still resolves) and stops there: every way on to DNS goes through a new
socket, so no lookup leaves the process.

Both must be applied while the process has one thread (before the store is opened).
``probe()`` tells, from a throw-away child process, which way works on this machine; without
libseccomp (the ``libseccomp2`` package) ``seccomp`` is reported unavailable.
"""

from __future__ import annotations

import ctypes
import errno
import os

try:
    import pyseccomp
except (ImportError, OSError, RuntimeError):  # RuntimeError: libseccomp.so.2 is not installed
    pyseccomp = None

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
MODES = ("netns", "seccomp")

# Every way to a socket the process does not already hold, or to one held by another process.
DENIED_CALLS = (
    "socket",
    "socketpair",
    "io_uring_setup",
    "pidfd_getfd",
    "ptrace",
    "process_vm_writev",
)


class IsolationError(OSError):
    """The kernel refused this way of taking the network away."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> IsolationError:
    code = ctypes.get_errno()
    return IsolationError(code, f"{what}: {os.strerror(code)}")


def enter_empty_network_namespace() -> None:
    """Move this process into a new user and network namespace with no usable interface."""
    libc = _libc()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        raise _fail("unshare(CLONE_NEWUSER | CLONE_NEWNET)")


def deny_sockets() -> None:
    """Load a seccomp filter that refuses every new socket and kills foreign system calls."""
    if pyseccomp is None:
        raise IsolationError(errno.ENOSYS, "libseccomp (package libseccomp2) is not installed")
    try:
        program = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        program.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
        for call in DENIED_CALLS:
            program.add_rule(pyseccomp.ERRNO(errno.EACCES), call)
        program.load()  # sets no_new_privs first, as the kernel requires
    except OSError as error:
        raise IsolationError(error.errno, f"seccomp filter: {error.strerror}") from error


def isolate(mode: str) -> None:
    """Apply one way of isolation (``netns``, ``seccomp`` or ``none``) to this process."""
    if mode == "netns":
        enter_empty_network_namespace()
        if pyseccomp is not None:
            deny_sockets()
    elif mode == "seccomp":
        deny_sockets()
    elif mode != "none":
        raise ValueError(f"unknown isolation {mode!r}")


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux only)."""
    import signal

    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _try(mode: str) -> bool:
    pid = os.fork()
    if pid == 0:  # the child tries, and tells by its exit status
        try:
            isolate(mode)
            import socket

            try:
                socket.create_connection(("127.0.0.1", 9), timeout=1).close()
            except OSError as error:
                os._exit(0 if error.errno in (errno.ENETUNREACH, errno.EACCES) else 1)
            os._exit(1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def probe(preferred: str = "auto") -> str | None:
    """Return the first way of isolation that works here (or ``preferred``'s), else None."""
    modes = MODES if preferred == "auto" else (preferred,)
    for mode in modes:
        if mode == "none" or _try(mode):
            return mode
    return None
