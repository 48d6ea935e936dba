"""Take the network away from an evaluator process, so no query can make a connection.

Two ways, tried in order, each enforced by the kernel whatever the query engine does:

- ``netns``: the process enters a new user namespace (where it holds no privilege on the
  host) and a new, empty network namespace. It has no interface but a loopback that is
  down: every connection, to another host or to this one, fails with "network unreachable".
- ``seccomp``: where the kernel refuses namespaces (some container runtimes), a seccomp
  filter makes ``socket()`` fail with EACCES for the AF_INET and AF_INET6 families (and
  ``io_uring_setup``, through which sockets can be opened too).

Both must be applied while the process has one thread (before the store is opened).
``probe()`` tells, from a throw-away child process, which way works on this machine.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
PR_SET_PDEATHSIG = 1
MODES = ("netns", "seccomp")

# seccomp filter: allow everything but socket(AF_INET | AF_INET6, …).
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SOCKET_SYSCALL = {"x86_64": 41, "aarch64": 198}
_IO_URING_SETUP = 425  # the same number on both
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_RET_K = 0x06
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_KILL_PROCESS = 0x80000000
AF_INET, AF_INET6 = 2, 10


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


def _filter_program() -> bytes:
    machine = platform.machine()
    if machine not in _AUDIT_ARCH:
        raise IsolationError(errno.ENOSYS, f"no seccomp filter written for {machine}")

    def statement(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    refuse = _SECCOMP_RET_ERRNO | errno.EACCES
    return b"".join(
        [
            statement(_BPF_LD_W_ABS, 4),  # 0: seccomp_data.arch
            statement(_BPF_JEQ_K, _AUDIT_ARCH[machine], 1, 0),  # 1: same arch: go to 3
            statement(_BPF_RET_K, _SECCOMP_RET_KILL_PROCESS),  # 2
            statement(_BPF_LD_W_ABS, 0),  # 3: seccomp_data.nr
            statement(_BPF_JEQ_K, _IO_URING_SETUP, 5, 0),  # 4: io_uring can open sockets: 10
            statement(_BPF_JEQ_K, _SOCKET_SYSCALL[machine], 0, 3),  # 5: other calls: 9
            statement(_BPF_LD_W_ABS, 16),  # 6: seccomp_data.args[0], low half: the family
            statement(_BPF_JEQ_K, AF_INET, 2, 0),  # 7: go to 10
            statement(_BPF_JEQ_K, AF_INET6, 1, 0),  # 8: go to 10
            statement(_BPF_RET_K, _SECCOMP_RET_ALLOW),  # 9
            statement(_BPF_RET_K, refuse),  # 10
        ]
    )


def deny_inet_sockets() -> None:
    """Install a seccomp filter that makes every AF_INET/AF_INET6 socket() call fail."""
    libc = _libc()
    program = _filter_program()
    buffer = ctypes.create_string_buffer(program)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _fail("prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise _fail("prctl(PR_SET_SECCOMP)")


def isolate(mode: str) -> None:
    """Apply one way of isolation (``netns``, ``seccomp`` or ``none``) to this process."""
    if mode == "netns":
        enter_empty_network_namespace()
    elif mode == "seccomp":
        deny_inet_sockets()
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
