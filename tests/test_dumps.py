"""Dumps, their VoID and DCAT descriptions, and the health check."""

from __future__ import annotations

import os

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from service import create_app, dataset
from service.cli import cli
from service.export import FORMATS
from service.namespaces import DATASET_IRI, DCAT, DCTERMS, VOID, XSD
from service.store.embedded import read_metadata

RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
DATASET = ox.NamedNode(DATASET_IRI)
INTEGER = ox.NamedNode(str(XSD.integer))


def graph(response) -> set[tuple]:
    parsed = ox.parse(response.data, format=RDF_FORMATS[response.mimetype])
    return {(q.subject, q.predicate, q.object) for q in parsed}


def objects(triples: set[tuple], subject, predicate: str) -> set:
    return {o for s, p, o in triples if s == subject and p == ox.NamedNode(predicate)}


def count(client, query: str) -> int:
    response = client.get("/sparql", query_string={"query": query})
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=list(FORMATS))
def test_dump_is_byte_identical_to_export(client, fmt):
    response = client.get(f"/download/zigraph.{fmt.extension}")
    assert response.status_code == 200
    assert response.mimetype == fmt.media_type
    exported = CliRunner().invoke(cli, ["export", "--format", fmt.name])
    assert exported.exit_code == 0, exported.output
    assert response.data == exported.stdout_bytes


def test_dump_revalidates_with_etag_and_last_modified(sample_client, sample_store_dir):
    response = sample_client.get("/download/zigraph.nq")
    metadata = read_metadata(sample_store_dir)
    assert metadata["version"] in response.headers["ETag"]
    assert response.last_modified is not None
    assert response.cache_control.public and response.cache_control.max_age > 0
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    by_etag = sample_client.get(
        "/download/zigraph.nq", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert by_etag.status_code == 304
    assert by_etag.data == b""
    by_date = sample_client.get(
        "/download/zigraph.nq",
        headers={"If-Modified-Since": response.headers["Last-Modified"]},
    )
    assert by_date.status_code == 304
    other = sample_client.get(
        "/download/zigraph.ttl", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert other.status_code == 200


def test_dump_holds_the_named_graphs(sample_client, sample_store_dir):
    response = sample_client.get("/download/zigraph.nq")
    quads = list(ox.parse(response.data, format=ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == set(read_metadata(sample_store_dir)["graphs"])
    assert len(quads) == read_metadata(sample_store_dir)["triples"]


def test_unknown_dump_is_not_found(sample_client):
    response = sample_client.get("/download/zigraph.xlsx")
    assert response.status_code == 404
    assert "zigraph.ttl" in response.get_json()["message"]


@pytest.mark.parametrize("media_type", list(RDF_FORMATS))
def test_void_describes_size_partitions_and_access(sample_client, media_type):
    response = sample_client.get("/.well-known/void", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    void = graph(response)

    def number(predicate: str) -> int:
        (value,) = objects(void, DATASET, predicate)
        return int(value.value)

    assert number(VOID.triples) == count(
        sample_client, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }"
    )
    assert number(VOID.distinctSubjects) == count(
        sample_client, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"
    )
    assert number(VOID.classes) == count(
        sample_client, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }"
    )
    assert number(VOID.properties) == len(objects(void, DATASET, VOID.propertyPartition))
    assert objects(void, DATASET, DCTERMS.license) == {
        ox.NamedNode("https://creativecommons.org/licenses/by/4.0/")
    }
    assert objects(void, DATASET, VOID.sparqlEndpoint) == {
        ox.NamedNode("http://127.0.0.1:5000/sparql")
    }
    dumps = objects(void, DATASET, VOID.dataDump)
    assert ox.NamedNode("http://127.0.0.1:5000/download/zigraph.ttl") in dumps
    for dump in dumps:
        assert (
            sample_client.get(dump.value.removeprefix("http://127.0.0.1:5000")).status_code == 200
        )
    for example in objects(void, DATASET, VOID.exampleResource):
        assert count(sample_client, f"SELECT (COUNT(*) AS ?n) WHERE {{ <{example.value}> ?p ?o }}")


def test_catalog_lists_the_distributions_and_the_service(sample_client):
    catalog = graph(sample_client.get("/catalog", headers={"Accept": "text/turtle"}))
    (catalog_node,) = {s for s, p, o in catalog if o == ox.NamedNode(DCAT.Catalog)}
    assert objects(catalog, catalog_node, DCAT.dataset) == {DATASET}
    distributions = objects(catalog, DATASET, DCAT.distribution)
    assert len(distributions) == len(FORMATS)
    media_types = {
        o.value.rsplit("/media-types/", 1)[1]
        for d in distributions
        for o in objects(catalog, d, DCAT.mediaType)
    }
    assert media_types == {f.media_type for f in FORMATS.values()}
    service = ox.NamedNode("http://127.0.0.1:5000/sparql")
    assert objects(catalog, service, DCAT.servesDataset) == {DATASET}


def test_health_check(sample_client, sample_store_dir):
    response = sample_client.get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    metadata = read_metadata(sample_store_dir)
    assert health == {
        "status": "ok",
        "store": "embedded",
        "triples": metadata["triples"],
        "version": metadata["version"],
        "evaluators": {"isolation": "netns", "network": "none"},
        "making": [],  # nothing still being made: every page can be shown
    }


def test_health_check_without_a_store(tmp_path):
    app = create_app({"TESTING": True, "STORE_DIR": str(tmp_path / "missing")})
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] == "unavailable"
        query = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
        assert query.status_code == 503
    finally:
        app.extensions["zigraph.store"].close()


def test_pages_read_the_report_saved_at_start(store_dir, tmp_path, shipped_dataset):
    """`zigraph serve` validates once and saves the report; no web process validates again."""
    import shutil

    from service import create_app
    from service.validation import Report, validate

    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy)
    report = validate(shipped_dataset)
    report.checked_triples = 4242  # a mark only the saved report carries
    report.save(copy)
    assert Report.load(copy).checked_triples == 4242
    app = create_app({"TESTING": True, "STORE_DIR": str(copy)})
    try:
        with app.test_request_context():
            from service.validation_report import served_report

            assert served_report().checked_triples == 4242
    finally:
        if app.extensions["zigraph.store"] is not None:
            app.extensions["zigraph.store"].close()


def test_data_served_without_validation_is_said_to_be_unvalidated(tmp_path):
    """A store `zigraph serve --no-validate` built from files has no report: the pages say
    so, and never show the report of other files (the shipped ones)."""
    from service import create_app, dataset
    from service.store.building import build_store

    store = tmp_path / "store"
    build_store(dataset.shipped_files(), store)
    app = create_app({"TESTING": True, "STORE_DIR": str(store)})
    try:
        client = app.test_client()
        page = client.get("/validation?lang=en").get_data(as_text=True)
        assert "was not validated" in page
        assert "✓" not in page and "✗" not in page
        answer = client.get("/validation.json")
        assert answer.status_code == 404
        assert answer.get_json()["error"] == "not-validated"
        entity = client.get("/doc/organisation/dpmptsp-kota-pekalongan?lang=en")
        assert entity.status_code == 200
        text = entity.get_data(as_text=True)
        assert "served without validation" in text
        assert "Conforms to the SHACL shapes" not in text
    finally:
        if app.extensions["zigraph.store"] is not None:
            app.extensions["zigraph.store"].close()


def test_void_statistics_counted_in_the_store_equal_those_of_the_quads(shipped_dataset, tmp_path):
    """The SPARQL aggregates give the figures a count over every quad gives, also for a triple
    stated in two graphs, a blank-node subject and a literal rdf:type."""
    import pyoxigraph as ox

    from service import statistics

    extra = ox.parse(
        input=b"""
        PREFIX id: <https://w3id.org/zigraph/id/>
        PREFIX zi: <https://w3id.org/zigraph/ontology#>
        <urn:g1> { id:x a zi:City . id:y a "not a class" . }
        <urn:g2> { id:x a zi:City . _:b <http://example.org/p> "v" . }
        """,
        format=ox.RdfFormat.TRIG,
    )
    quads = [*shipped_dataset.quads, *extra]
    store = ox.Store(str(tmp_path / "store"))
    store.extend(quads)
    counted = statistics.from_store(store)
    assert counted == statistics.from_quads(quads)
    assert counted["triples"] == len({q.triple for q in quads})
    # The literals' languages and years seen while loading, as the build does, count alike.
    survey = statistics.LoadSurvey()
    assert list(survey.watch(quads)) == quads
    assert statistics.from_store(store, survey.figures()) == counted
    assert counted["classes"]["https://w3id.org/zigraph/ontology#City"] >= 1
    assert counted["latest_assessment_year"] == 2020  # the article's WBK designations
    assert counted["shapes"] > 10 and counted["focus_nodes"] > 50  # what /validation covers


def test_large_files_are_surveyed_by_a_second_reader_with_the_same_figures(tmp_path, monkeypatch):
    """Past SURVEY_APART_BYTES another process surveys the files while they load: the same
    figures as the survey made in the loading process."""
    from service.store import building

    files = dataset.shipped_files()
    inline = building.build_store(files, tmp_path / "inline")["survey"]
    monkeypatch.setattr(building, "SURVEY_APART_BYTES", 0)
    apart = building.build_store(files, tmp_path / "apart")["survey"]
    assert apart == inline
    assert inline["languages"] == ["en", "id"] and inline["hubs"]


def test_a_survey_of_other_bytes_than_the_load_read_is_not_used(capsys):
    """Files that changed between the two reads give no survey: the statistics then count
    everything by query, rather than mix two versions of the data."""
    from service.store import building

    survey = building.SurveyApart(dataset.shipped_files())
    assert survey.figures("0" * 64) is None
    assert "the statistics count it all by query" in capsys.readouterr().err


def test_a_dump_is_written_once_beside_the_store_and_sent_from_there(store_dir, tmp_path):
    """Web processes share one file per format and version; other versions' files go."""
    import os
    import shutil
    import time

    from service import create_app

    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy, ignore=shutil.ignore_patterns("dumps"))
    (copy / "dumps").mkdir()
    stale = copy / "dumps" / "zigraph-0123456789abcdef.nq"
    stale.write_bytes(b"an older version's dump, written two hours ago")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    recent = copy / "dumps" / "zigraph-fedcba9876543210.nq"
    recent.write_bytes(b"another version's dump, just written: a client may be opening it")
    app = create_app({"TESTING": True, "STORE_DIR": str(copy)})
    try:
        client = app.test_client()
        first = client.get("/download/zigraph.nq")
        assert first.status_code == 200
        written = copy / "dumps" / f"zigraph-{read_metadata(copy)['version']}.nq"
        assert written.read_bytes() == first.data
        assert not stale.exists()
        assert {p.name for p in (copy / "dumps").iterdir()} == {written.name, recent.name}
        stamp = written.stat().st_mtime_ns
        again = client.get("/download/zigraph.nq")
        assert again.data == first.data
        assert written.stat().st_mtime_ns == stamp  # sent from the file, not written again
    finally:
        if app.extensions["zigraph.store"] is not None:
            app.extensions["zigraph.store"].close()


def test_the_bulk_load_in_batches_keeps_every_quad_and_blank_node(shipped_dataset, tmp_path):
    """Batches of 7 quads (hundreds of bulk loader calls) hold what one call holds."""
    from service.store.building import bulk_load

    store = ox.Store(str(tmp_path / "store"))
    bulk_load(store, shipped_dataset.quads, batch=7)
    assert any(isinstance(q.subject, ox.BlankNode) for q in shipped_dataset.quads)
    assert set(store) == set(shipped_dataset.quads)


def test_void_statistics_are_counted_once_per_store_and_saved_beside_it(store_dir, tmp_path):
    """Every web process (here: a second application) reads the figures the first saved."""
    import json
    import shutil

    from service import create_app
    from service.store.embedded import STATISTICS_FILE

    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy, ignore=shutil.ignore_patterns(STATISTICS_FILE, "dumps"))
    objects_of_void = None
    for round_ in (1, 2):
        app = create_app({"TESTING": True, "STORE_DIR": str(copy)})
        try:
            response = app.test_client().get("/.well-known/void", headers={"Accept": "text/turtle"})
            assert response.status_code == 200
            objects_of_void = objects(graph(response), DATASET, VOID.triples)
        finally:
            if app.extensions["zigraph.store"] is not None:
                app.extensions["zigraph.store"].close()
        if round_ == 1:
            saved = json.loads((copy / STATISTICS_FILE).read_text())
            triples = saved["triples"]
            assert objects_of_void == {ox.Literal(str(triples), datatype=INTEGER)}
            saved["triples"] = 4242  # a mark only the saved figures carry
            (copy / STATISTICS_FILE).write_text(json.dumps(saved))
    assert objects_of_void == {ox.Literal("4242", datatype=INTEGER)}


def test_dumps_never_go_to_a_shared_folder_open_to_others(sample_app, monkeypatch, tmp_path):
    """A folder of the expected name that others may write is not used, and one private
    folder is used instead for the process's life."""
    import os
    import stat

    from service import downloads as dumps

    monkeypatch.setattr(dumps.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(dumps, "EmbeddedBackend", type("NoEmbedded", (), {}))  # as if remote
    with sample_app.app_context():
        name = dumps.hashlib.sha256(dumps.get_store().location.encode()).hexdigest()[:12]
        shared = tmp_path / f"zigraph-dumps-{os.getuid()}-{name}"
        shared.mkdir()
        shared.chmod(0o777)
        chosen = dumps.dump_folder()
        assert chosen != shared and chosen == dumps.dump_folder()
        assert stat.S_IMODE(chosen.stat().st_mode) & 0o077 == 0


def test_void_statistics_are_saved_when_the_store_is_built(tmp_path):
    """The first visitor of the home page does not pay for counting the data's classes."""
    from service import dataset, statistics
    from service.namespaces import ZI
    from service.store import building
    from service.store.embedded import STATISTICS_FILE

    path, metadata, _ = building.prepare_store(dataset.shipped_files(), tmp_path, validate=False)
    saved = statistics.loads((path / STATISTICS_FILE).read_text())
    assert saved["data_classes"]["members"][str(ZI.DesignationConferral)] == 2
    assert str(ZI.DesignationConferral) in saved["data_classes"]["stated"]
    assert "statistics_seconds" in read_metadata(path)


def test_serve_answers_queries_while_the_statistics_and_search_index_are_made(tmp_path):
    """After the load, pages that need what is still being made answer 503 with Retry-After
    (not their own count of the whole store); SPARQL answers; then every page answers."""
    import subprocess
    import sys

    from service import create_app, dataset
    from service.store import building
    from service.store.embedded import STATISTICS_FILE, marker_file

    path = tmp_path / "store"
    building.build_isolated(dataset.shipped_files(), path, validate=False, finish=False)
    assert building.unfinished(path) == ["statistics", "search"]
    maker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for part in ("statistics", "search"):  # as if a process were making each
            marker_file(path, part).write_text(f"{maker.pid}\n")
        assert building.unfinished(path) == []
        client = create_app({"TESTING": True, "STORE_DIR": str(path)}).test_client()
        ask = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert ask.status_code == 200 and ask.get_json()["boolean"] is True
        for route in ("/", "/search?q=dinarpus"):
            page = client.get(route, headers={"Accept": "text/html"})
            assert page.status_code == 503, route
            assert page.headers["Retry-After"] == "5"
            assert "being made" in page.get_data(as_text=True)
        assert not (path / STATISTICS_FILE).exists()  # nothing counted in the web process
    finally:
        maker.kill()
        maker.wait()
    # A marker whose process has gone no longer holds the pages back: they are made here.
    assert building.unfinished(path) == ["statistics", "search"]
    building.finish_in_background(path, building.unfinished(path), say=lambda text: None)
    for process, _ in building._finishing:  # one process makes both, the statistics first
        process.wait(120)
    building.stop_finishing()
    assert building.unfinished(path) == []
    assert not marker_file(path, "statistics").exists() and not marker_file(path, "search").exists()
    client = create_app({"TESTING": True, "STORE_DIR": str(path)}).test_client()
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    found = client.get("/search?q=dinarpus", headers={"Accept": "text/html"})
    assert found.status_code == 200 and "Dinarpus" in found.get_data(as_text=True)


def test_a_web_process_that_ends_leaves_the_background_finishing_running(tmp_path):
    """gunicorn forks its workers from the process that started the finishing one; a worker
    that ends runs Python's exit handlers. multiprocessing's terminated every child whose
    record the worker inherited: the statistics and search index were never made."""
    import subprocess
    import sys

    from service import dataset
    from service.store import building

    path = tmp_path / "store"
    building.build_isolated(dataset.shipped_files(), path, validate=False, finish=False)
    program = """
import os, sys
from pathlib import Path
from service.store import building
path = Path(sys.argv[1])
building.finish_in_background(path, building.unfinished(path), say=lambda text: None)
worker = os.fork()
if worker == 0:
    sys.exit(0)  # a worker ending as gunicorn's do: the exit handlers run
os.waitpid(worker, 0)
process, _ = building._finishing[0]
print("running" if process.poll() is None else f"ended {process.returncode}", flush=True)
print(f"made {process.wait(120)}", flush=True)
"""
    result = subprocess.run(
        [sys.executable, "-c", program, str(path)], capture_output=True, text=True, timeout=180
    )
    assert result.stdout.split("\n")[:2] == ["running", "made 0"], result.stdout + result.stderr
    assert building.unfinished(path) == []


def test_a_large_class_is_read_a_page_at_a_time_from_its_sorted_members(store_dir, tmp_path):
    """The members saved beside a store give every page, ascending and descending."""
    import shutil

    from service.namespaces import ZI
    from service.store.embedded import read_class_members, save_class_members

    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy)
    store = ox.Store.read_only(str(copy))
    try:
        save_class_members(store, copy, [str(ZI.Passage)])
        members = sorted(
            row[0].value
            for row in store.query(
                f"SELECT DISTINCT ?s WHERE {{ ?s a <{ZI.Passage}> }}",
                use_default_graph_as_union=True,
            )
        )
    finally:
        del store
    assert len(members) > 3
    pages = [read_class_members(copy, str(ZI.Passage), start, 2, False) for start in (0, 2)]
    assert pages == [members[0:2], members[2:4]]
    assert read_class_members(copy, str(ZI.Passage), 0, 2, True) == members[::-1][:2]
    assert read_class_members(copy, str(ZI.Passage), len(members) - 1, 2, False) == members[-1:]
    assert read_class_members(copy, str(ZI.City), 0, 2, False) is None


def test_each_part_is_made_in_a_process_of_its_own_that_reports_a_failure(tmp_path, monkeypatch):
    # A part's memory goes back to the machine before the next part starts: each is made in
    # a child. Its seconds come back; its failure is raised, not taken for success.
    from service.store import building

    def made_in(path):
        return float(os.getpid())  # the seconds of a part: here, which process made it

    def fails(path):
        raise ValueError("no statistics today")

    monkeypatch.setitem(building.FINISHING, "statistics", made_in)
    assert building.make_apart("statistics", tmp_path) not in (0.0, float(os.getpid()))
    monkeypatch.setitem(building.FINISHING, "statistics", fails)
    with pytest.raises(RuntimeError, match="making the statistics failed"):
        building.make_apart("statistics", tmp_path)
