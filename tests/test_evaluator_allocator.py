"""Evaluators run with the allocator the settings name (mimalloc or jemalloc where the machine
has it);
the web process keeps the C library's, and its environment is left as it was."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from service.cli import cli
from service.errors import BackendUnavailable
from service.store.evaluator import ALLOCATORS, find_allocator
from tests.conftest import REPO

# In a fresh interpreter: the forkserver is started once per process, with the allocator set
# at that moment, so the test process's own (started by other tests) would not show it.
PROGRAM = """
import json, os, sys, time
from service.store import evaluator_isolation
from service.store.embedded import run_query
from service.store.evaluator import EvaluatorPool, find_allocator, preload_allocator

preload_allocator(find_allocator(sys.argv[2]))
pool = EvaluatorPool(sys.argv[1], size=1, isolation=evaluator_isolation())
pool.start()
answer = pool.run(run_query, time.monotonic() + 30, sparql="ASK {}")

def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[1] == str(pid):
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return found

def maps_allocator(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return any(name in maps.read() for name in ("libmimalloc", "libjemalloc"))

descendants, todo = [], children(os.getpid())
while todo:
    pid = todo.pop()
    descendants.append(pid)
    todo += children(pid)
print(json.dumps({
    "answered": answer is not None,
    "self": maps_allocator(os.getpid()),
    "evaluator": maps_allocator(pool._idle[0].pid),
    "descendants": len(descendants),
    "ld_preload": os.environ.get("LD_PRELOAD"),
}))
pool.close()
"""


def evaluator_maps(store_dir, allocator: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(store_dir), allocator],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_evaluators_run_with_the_allocator_where_the_machine_has_it(store_dir):
    if find_allocator("auto") is None:
        pytest.skip(f"none of {ALLOCATORS} is installed (Debian: libmimalloc2.0)")
    seen = evaluator_maps(store_dir, "auto")
    assert seen["answered"] and seen["evaluator"]
    assert not seen["self"]  # the web process keeps the C library's malloc
    assert seen["ld_preload"] is None  # set only while the forkserver started


def test_system_keeps_the_c_librarys_malloc(store_dir):
    seen = evaluator_maps(store_dir, "system")
    assert seen["answered"] and seen["descendants"] >= 2  # the forkserver and the evaluator
    assert not seen["evaluator"] and not seen["self"]


def test_an_allocator_is_a_file_or_a_clear_error(tmp_path):
    assert find_allocator("system") is None
    library = tmp_path / "liballoc.so"
    library.write_bytes(b"")
    assert find_allocator(str(library)) == str(library)
    with pytest.raises(BackendUnavailable, match="ZIGRAPH_EVALUATOR_ALLOCATOR"):
        find_allocator(str(tmp_path / "missing.so"))


def test_serve_refuses_an_allocator_that_is_not_there(tmp_path):
    missing = str(tmp_path / "missing.so")
    result = CliRunner().invoke(cli, ["serve"], env={"ZIGRAPH_EVALUATOR_ALLOCATOR": missing})
    assert result.exit_code == 2
    assert f"{missing} is not a file" in result.output
