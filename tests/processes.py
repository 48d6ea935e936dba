"""Watching processes from the tests: waiting for a condition, and a process's children."""

from __future__ import annotations

import time
from pathlib import Path


def wait_for(condition, seconds: float = 30.0) -> bool:
    """Return True as soon as ``condition()`` holds, False if it never did within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def is_running(pid: int) -> bool:
    """Return whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children_of(pid: int) -> set[int]:
    """Return the process ids whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            after_name = (entry / "stat").read_text().rsplit(") ", 1)[1]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if after_name.split()[1] == str(pid):  # state, then the parent's id
            found.add(int(entry.name))
    return found


def descendants_of(pid: int) -> set[int]:
    """Return the process ids of the children of ``pid``, their children, and so on."""
    found, todo = set(), [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.add(child)
            todo.append(child)
    return found
