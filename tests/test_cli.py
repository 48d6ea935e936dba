"""The zigraph command line: validate, export and stats on shipped and on broken data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from service import export
from service.cli import cli

ZIGRAPH = Path(sys.executable).with_name("zigraph")
INVALID = sorted((Path(__file__).parent / "data" / "shapes" / "invalid").glob("*.ttl"))


def run_console(*args: str, seed: str = "0") -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [str(ZIGRAPH), *args], capture_output=True, env=environment, timeout=300, check=False
    )


def test_the_invalid_shape_fixtures_are_there():
    assert INVALID, "tests/data/shapes/invalid/ holds the fixtures the report tests read"


def test_validate_shipped_data_conforms(runner):
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "sesuai" in result.output


def test_validate_english_report(runner):
    result = runner.invoke(cli, ["validate", "--lang", "en"])
    assert result.exit_code == 0
    assert "conforms" in result.output


def test_validate_broken_data_reports_violations(runner):
    broken = INVALID[0]
    result = runner.invoke(cli, ["validate", str(broken), "--format", "json", "--lang", "en"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["conforms"] is False
    assert report["violations"] == len(report["results"]) > 0
    expected_shape = f"zsh:{broken.stem}"
    assert {r["source_shape"] for r in report["results"]} == {expected_shape}
    assert all(r["message"] and r["focus"] for r in report["results"])


def test_validate_text_report_names_focus_and_rule(runner):
    broken = INVALID[0]
    result = runner.invoke(cli, ["validate", str(broken)])
    assert result.exit_code == 1
    assert "TIDAK sesuai" in result.output
    assert f"zsh:{broken.stem}" in result.output
    assert "Node:" in result.output


def test_validate_turtle_report_is_a_shacl_report(runner):
    result = runner.invoke(cli, ["validate", str(INVALID[0]), "--format", "ttl"])
    assert result.exit_code == 1
    report = Graph().parse(data=result.output, format="turtle")
    assert (None, SH.conforms, None) in report
    assert len(list(report.subjects(predicate=SH.resultSeverity))) > 0


def test_validate_unparsable_file_names_file_and_line(runner, tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "open\n')
    result = runner.invoke(cli, ["validate", str(broken)])
    assert result.exit_code == 2
    assert "broken.ttl" in result.output
    assert "line 3" in result.output


def test_validate_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(cli, ["validate", str(tmp_path / "nowhere.ttl")])
    assert result.exit_code == 2
    assert "nowhere.ttl" in result.output


@pytest.mark.parametrize("name", sorted(export.FORMATS))
def test_export_parses_back_to_the_dataset(name, tmp_path, shipped_dataset):
    fmt = export.FORMATS[name]
    target = tmp_path / f"dump.{fmt.extension}"
    result = run_console("export", "--format", name, "-o", str(target))
    assert result.returncode == 0, result.stderr
    parse_format = ox.RdfFormat.JSON_LD if name == "jsonld" else fmt.oxigraph_format
    parsed = list(ox.parse(path=str(target), format=parse_format))
    if fmt.holds_graphs:
        assert sorted(map(str, parsed)) == sorted(map(str, shipped_dataset.quads))
    else:
        triples = {str(q.triple) for q in shipped_dataset.quads}
        assert {str(ox.Triple(q.subject, q.predicate, q.object)) for q in parsed} == triples


@pytest.mark.parametrize("name", ["ttl", "jsonld", "trig"])
@pytest.mark.slow
def test_export_is_byte_for_byte_deterministic(name):
    first = run_console("export", "--format", name, seed="1")
    second = run_console("export", "--format", name, seed="2")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert len(first.stdout) > 0


def test_export_jsonld_has_a_compact_context():
    result = run_console("export", "--format", "jsonld")
    document = json.loads(result.stdout)
    assert document["@context"]["skos"] == "http://www.w3.org/2004/02/skos/core#"
    keys = {key for graph in document["@graph"] for node in graph["@graph"] for key in node}
    assert "skos:prefLabel" in keys


def test_export_unknown_format_is_refused(runner):
    result = runner.invoke(cli, ["export", "--format", "pdf"])
    assert result.exit_code == 2
    assert "pdf" in result.output


def test_stats_counts_triples_classes_and_graphs(runner, shipped_dataset):
    result = runner.invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0
    numbers = json.loads(result.output)
    assert numbers["triples"] == len({q.triple for q in shipped_dataset.quads})
    assert set(numbers["graphs"]) == {f.graph for f in shipped_dataset.files}
    assert numbers["classes"]
    text = runner.invoke(cli, ["stats"]).output
    assert "triples" in text
    assert "named graphs" in text


def test_stats_and_export_take_data_paths(runner):
    sample = str(Path(__file__).parent / "data" / "sparql")
    numbers = json.loads(runner.invoke(cli, ["stats", "--json", "--data", sample]).output)
    data_graphs = {g for g in numbers["graphs"] if "/graph/graph_data/" in g}
    assert data_graphs == {
        "https://w3id.org/zigraph/graph/graph_data/sparql/sample",
        "https://w3id.org/zigraph/graph/graph_data/sparql/extra",
    }
    result = run_console("export", "--format", "nq", "--data", sample)
    graphs = {q.graph_name.value for q in ox.parse(result.stdout, format=ox.RdfFormat.N_QUADS)}
    assert data_graphs <= graphs
    assert not any("/graph/articles/" in g for g in graphs)  # the shipped data is replaced


def test_shapes_can_replace_or_be_added_to_the_shipped_ones(runner, tmp_path):
    extra = tmp_path / "extra-shapes.ttl"
    extra.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix schema: <https://schema.org/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<https://example.org/persons> a sh:NodeShape ; sh:targetClass schema:Person ;\n"
        "    sh:property <https://example.org/no-person-labels> .\n"
        "<https://example.org/no-person-labels> a sh:PropertyShape ;\n"
        "    sh:path skos:prefLabel ; sh:maxCount 0 .\n"
    )
    person = tmp_path / "person.ttl"
    person.write_text(
        "<https://example.org/p> a <https://schema.org/Person> ;\n"
        '    <http://www.w3.org/2004/02/skos/core#prefLabel> "Orang Contoh"@id .\n'
    )

    def fired(*shapes: str) -> set[str]:
        arguments = ["validate", str(INVALID[0]), str(person), "--format", "json"]
        result = runner.invoke(cli, [*arguments, *(a for s in shapes for a in ("--shapes", s))])
        assert result.exit_code == 1, result.output
        return {r["source_shape"] for r in json.loads(result.output)["results"]}

    extra_rule = "<https://example.org/no-person-labels>"
    assert fired(str(extra)) == {extra_rule}
    assert fired("shipped", str(extra)) == {extra_rule, f"zsh:{INVALID[0].stem}"}
