"""Export streams: sorted on disk in runs, blank nodes named apart, the same bytes as in memory."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import dataset, export
from service.external_sort import FAN_IN, ExternalSort
from service.namespaces import PREFIXES
from service.settings import variable
from service.store import building
from tests.conftest import application_over

RUN_LINES_VARIABLE = variable("export_run_lines")
ZIGRAPH = Path(sys.executable).with_name("zigraph")
FEW_LINES = 7  # the shipped dataset then sorts in hundreds of runs, merged in several passes
ALL_IN_ONE_RUN = 10**9
BLANK_NODES = """\
@prefix ex: <http://example.org/> .
ex:a ex:knows [ ex:name "B" ; ex:knows [ ex:name "C" ] ] .
ex:a ex:list ( 1 2 3 ) .
ex:a ex:name "A" .
_:x ex:same _:y . _:y ex:same _:x .
"""


def in_memory(quads: list[ox.Quad], fmt: export.RdfSerialization) -> bytes:
    """Serialize the way export did before it streamed: whole lists, sorted, one call."""
    quads = dataset.canonical_quads(quads)
    if not fmt.holds_graphs:
        triples = sorted({q.triple for q in quads}, key=str)
        return ox.serialize(triples, format=fmt.oxigraph_format, prefixes=PREFIXES)
    if fmt.oxigraph_format is None:
        graphs: dict[str | None, set[ox.Triple]] = defaultdict(set)
        for quad in quads:
            default = isinstance(quad.graph_name, ox.DefaultGraph)
            graphs[None if default else export._term_id(quad.graph_name)].add(quad.triple)
        names = sorted(graphs, key=lambda name: name or "")
        return export._jsonld({g: sorted(graphs[g], key=str) for g in names})
    ordered = sorted(quads, key=lambda q: (str(q.graph_name), str(q)))
    return ox.serialize(ordered, format=fmt.oxigraph_format, prefixes=PREFIXES)


def written(quads, fmt: export.RdfSerialization, run_lines: int) -> bytes:
    output = io.BytesIO()
    export.write_dataset(quads, fmt, output, run_lines=run_lines)
    return output.getvalue()


def run_console(*args: str, env: dict[str, str] | None = None, stderr=subprocess.PIPE):
    return subprocess.run(
        [str(ZIGRAPH), *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def shipped_quads() -> list[ox.Quad]:
    """Return the shipped files' quads as read, blank nodes under random names."""
    return list(dataset.stream_quads(dataset.shipped_files()))


def test_lines_sorted_in_many_runs_equal_lines_sorted_at_once():
    lines = [f"{n * 7919 % 1000:04d}" for n in range(3000)] + ["a", "a\tb", "a b", "a\tb"]
    with ExternalSort(run_lines=FEW_LINES) as sorter:
        sorter.extend(lines)
        assert list(sorter) == sorted(set(lines))
        assert sorter.runs_written > FAN_IN  # merged in more than one pass
    with ExternalSort(run_lines=ALL_IN_ONE_RUN) as sorter:
        sorter.extend(lines)
        assert list(sorter) == sorted(set(lines))
        assert sorter.runs_written == 0


@pytest.mark.parametrize("name", sorted(export.FORMATS))
def test_small_runs_give_the_bytes_of_the_in_memory_export(name, shipped_quads):
    fmt = export.FORMATS[name]
    expected = in_memory(shipped_quads, fmt)
    assert written(shipped_quads, fmt, FEW_LINES) == expected
    assert written(reversed(shipped_quads), fmt, ALL_IN_ONE_RUN) == expected


@pytest.mark.parametrize("name", sorted(export.FORMATS))
def test_blank_nodes_are_named_apart_from_the_other_quads(name, tmp_path):
    data = tmp_path / "blank.ttl"
    data.write_text(BLANK_NODES)
    files = [dataset.SourceFile(data, "graph_data", "http://example.org/graph")]
    fmt = export.FORMATS[name]
    first = written(dataset.stream_quads(files), fmt, 2)  # each read names blank nodes anew
    assert first == written(dataset.stream_quads(files), fmt, ALL_IN_ONE_RUN)
    assert first == in_memory(list(dataset.stream_quads(files)), fmt)
    assert b"c14n0" in first


@pytest.mark.parametrize("name", sorted(export.FORMATS))
def test_no_quads_and_the_default_graph_give_the_in_memory_bytes(name):
    example = "http://example.org/"
    subject, predicate = ox.NamedNode(example + "s"), ox.NamedNode(example + "p")
    quads = [
        ox.Quad(subject, predicate, ox.Literal('two\nlines, "quoted"'), ox.DefaultGraph()),
        ox.Quad(subject, predicate, ox.NamedNode(example + "o"), ox.NamedNode(example + "g")),
        ox.Quad(subject, predicate, ox.NamedNode(example + "o"), ox.NamedNode(example + "g/2")),
        ox.Quad(ox.BlankNode("b"), predicate, ox.Literal("1"), ox.BlankNode("g")),
    ]
    fmt = export.FORMATS[name]
    assert written([], fmt, 1) == in_memory([], fmt)
    assert written(quads, fmt, 1) == in_memory(quads, fmt)


def test_blank_nodes_get_the_names_the_whole_dataset_would_give(shipped_quads):
    whole = ox.Dataset(shipped_quads)
    whole.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    blank = [q for q in shipped_quads if dataset.has_blank_node(q)]
    assert blank
    assert dataset.name_blank_nodes(blank) == {q for q in whole if dataset.has_blank_node(q)}


@pytest.mark.parametrize("name", ["nq", "ttl"])
def test_run_size_setting_changes_nothing_in_the_output(name):
    default = run_console("export", "--format", name)
    small = run_console("export", "--format", name, env={RUN_LINES_VARIABLE: str(FEW_LINES)})
    assert default.returncode == small.returncode == 0, small.stderr
    assert small.stdout == default.stdout
    assert len(default.stdout) > 0


def test_a_bad_run_size_is_refused():
    result = run_console("export", "--format", "nq", env={RUN_LINES_VARIABLE: "many"})
    assert result.returncode == 2
    assert RUN_LINES_VARIABLE.encode() in result.stderr
    assert result.stdout == b""


def test_output_to_a_file_or_to_a_dash(tmp_path):
    target = tmp_path / "dump.nq"
    to_file = run_console("export", "--format", "nq", "-o", str(target))
    assert to_file.returncode == 0, to_file.stderr
    assert b"quads" in to_file.stderr
    to_dash = run_console("export", "--format", "nq", "-o", "-")
    assert to_dash.returncode == 0
    assert to_dash.stdout == target.read_bytes()
    assert not (tmp_path / "-").exists()


def test_a_bad_file_leaves_the_earlier_output_in_place(tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b "open\n')
    target = tmp_path / "dump.ttl"
    target.write_text("the earlier export\n")
    result = run_console("export", "--data", str(broken), "-o", str(target))
    assert result.returncode == 2
    assert b"broken.ttl" in result.stderr
    assert b"line 2" in result.stderr
    assert target.read_text() == "the earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ttl", "dump.ttl"]


def test_progress_bar_goes_to_a_terminal_and_never_into_the_data():
    plain = run_console("export", "--format", "nq")
    terminal, attached = os.openpty()
    shown = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        with_bar = run_console("export", "--format", "nq", "-o", "-", stderr=attached)
    finally:
        os.close(attached)
        reader.join(timeout=30)
        os.close(terminal)
    assert with_bar.returncode == 0
    assert with_bar.stdout == plain.stdout
    assert b"reading [" in shown
    assert b"writing [" in shown
    assert b"100%" in shown


def test_dumps_of_a_store_built_from_files_equal_the_export(tmp_path):
    """`zigraph serve` builds its store from the files, blank nodes under random names."""
    store = tmp_path / "store"
    building.build_store(dataset.shipped_files(), store)
    exported = run_console("export", "--format", "nq")
    assert exported.returncode == 0
    for application in application_over(store):
        response = application.test_client().get("/download/zigraph.nq")
        assert response.status_code == 200
        assert response.data == exported.stdout
