"""The page cache of entity documents: repeated visits, conditional requests, keys kept apart."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest

from service import create_app
from service.i18n import LANGUAGES

AGENCY = "/doc/organisation/dpmptsp-kota-pekalongan"
HTML = {"Accept": "text/html"}
TURTLE = {"Accept": "text/turtle"}
CACHE = "X-Zigraph-Cache"


@pytest.fixture
def uncached_client(store_dir: Path, shipped_backend):
    """Return a client of an application whose page cache keeps nothing (page_cache_mb=0)."""
    app = create_app({"TESTING": True, "STORE_DIR": str(store_dir), "PAGE_CACHE_MB": 0})
    app.extensions["zigraph.store"] = shipped_backend
    return app.test_client()


def test_second_visit_is_a_hit_with_the_same_page(client):
    first = client.get(AGENCY, headers=HTML)
    second = client.get(AGENCY, headers=HTML)
    assert first.status_code == second.status_code == 200
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert second.data == first.data
    for header in ("Content-Type", "ETag", "Link", "Vary", "Content-Security-Policy"):
        assert second.headers[header] == first.headers[header]


def test_matching_if_none_match_gets_304_without_a_body(client):
    etag = client.get(AGENCY, headers=HTML).headers["ETag"]
    again = client.get(AGENCY, headers={**HTML, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_english_and_indonesian_pages_are_kept_apart(client):
    english = client.get(AGENCY, headers={**HTML, "Accept-Language": "en"})
    indonesian = client.get(AGENCY, headers={**HTML, "Accept-Language": "id"})
    assert indonesian.headers[CACHE] == "miss"
    assert english.headers["ETag"] != indonesian.headers["ETag"]
    assert english.data != indonesian.data
    assert b'lang="id"' in indonesian.data
    again = client.get(AGENCY, headers={**HTML, "Accept-Language": "id"})
    assert again.headers[CACHE] == "hit"
    assert again.data == indonesian.data


def test_turtle_document_and_html_page_are_kept_apart(client):
    page = client.get(AGENCY, headers=HTML)
    turtle = client.get(AGENCY, headers=TURTLE)
    assert turtle.headers[CACHE] == "miss"
    assert turtle.mimetype == "text/turtle"
    assert page.headers["ETag"] != turtle.headers["ETag"]
    again = client.get(AGENCY, headers=TURTLE)
    assert again.headers[CACHE] == "hit"
    assert again.mimetype == "text/turtle"
    assert set(ox.parse(again.data, format=ox.RdfFormat.TURTLE)) == set(
        ox.parse(turtle.data, format=ox.RdfFormat.TURTLE)
    )


def test_entity_iri_redirect_is_kept_without_an_etag(client):
    first = client.get("/id/organisation/dpmptsp-kota-pekalongan", headers=HTML)
    second = client.get("/id/organisation/dpmptsp-kota-pekalongan", headers=HTML)
    assert first.status_code == second.status_code == 303
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Location"].endswith(AGENCY)
    assert "ETag" not in second.headers


def test_missing_entity_is_not_kept(client):
    for _ in range(2):
        for prefix in ("/doc/", "/id/"):
            response = client.get(prefix + "organisation/no-such-agency", headers=HTML)
            assert response.status_code == 404
            assert CACHE not in response.headers


def test_page_cache_of_zero_keeps_nothing(uncached_client):
    first = uncached_client.get(AGENCY, headers=HTML)
    second = uncached_client.get(AGENCY, headers=HTML)
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "miss")
    assert len(uncached_client.application.extensions["zigraph.pages"]) == 0


def test_metrics_count_page_cache_hits_and_misses(client):
    client.get(AGENCY, headers=HTML)
    client.get(AGENCY, headers=HTML)
    figures = client.get("/metrics").get_data(as_text=True)
    counted = {
        line.split('result="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in figures.splitlines()
        if line.startswith("zigraph_page_cache_lookups_total{")
    }
    assert counted == {"hit": 1.0, "miss": 1.0}
    assert "zigraph_page_cache_entries" in figures


@pytest.fixture
def store_copy(store_dir: Path, tmp_path) -> Path:
    """Return a copy of the shipped store without page files (pages of its own)."""
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy, ignore=shutil.ignore_patterns("dumps"))
    return copy


@contextmanager
def web_processes(store: Path, *settings: dict):
    """Yield one application over ``store`` a settings mapping, standing for as many web
    processes of one deployment; close their stores after."""
    apps = [create_app({"TESTING": True, "STORE_DIR": str(store), **more}) for more in settings]
    try:
        yield apps
    finally:
        for app in apps:
            opened = app.extensions.get("zigraph.store")
            if opened is not None:
                opened.close()


def test_a_page_rendered_by_one_web_process_is_read_by_the_others(store_copy: Path):
    """Two applications over one store stand for two web processes: the second reads the
    first's page from its file, the same bytes and headers, and renders nothing."""
    with web_processes(store_copy, {}, {}, {}) as (one, other, third):
        first = one.test_client().get(AGENCY, headers=HTML)
        assert first.headers[CACHE] == "miss"
        files = list((store_copy / "dumps" / "pages").iterdir())
        assert len(files) == 1 and files[0].name.startswith(first.headers["ETag"].strip('"'))
        second = other.test_client().get(AGENCY, headers=HTML)
        assert second.headers[CACHE] == "hit"
        assert second.data == first.data
        assert second.headers["ETag"] == first.headers["ETag"]
        assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
        # A file that is not a whole page of ours is not served: the page is rendered again.
        files[0].write_bytes(b"not a page")
        again = third.test_client().get(AGENCY, headers=HTML)
        assert again.headers[CACHE] == "miss" and again.data == first.data


def test_a_page_file_is_not_read_by_a_process_with_other_settings(store_copy: Path):
    """A deployment restarted with another publisher (or in another serve) renders afresh."""
    import os
    import time

    folder = store_copy / "dumps" / "pages"
    publishers = ({"PUBLISHER_NAME": "Dinas Kominfo"}, {"PUBLISHER_NAME": "Bappeda"})
    with web_processes(store_copy, *publishers) as apps:
        for app in apps:
            page = app.test_client().get(AGENCY, headers=HTML)
            assert page.headers[CACHE] == "miss"
        assert len(list(folder.iterdir())) == 2
    # A restart writes its first page: the files of other scopes, over an hour old, go.
    for old in folder.iterdir():
        os.utime(old, (time.time() - 7200, time.time() - 7200))
    with web_processes(store_copy, {"PUBLISHER_NAME": "Diskominfo"}) as (app,):
        assert app.test_client().get(AGENCY, headers=HTML).headers[CACHE] == "miss"
        assert len(list(folder.iterdir())) == 1


def test_a_web_process_writes_no_more_page_files_than_its_budget(store_copy: Path):
    budget = 40_000 / 2**20  # MB: more than one page of the agencies, less than two
    with web_processes(store_copy, {"PAGE_CACHE_MB": budget}) as (app,):
        client = app.test_client()
        for agency in ("dpmptsp-kota-pekalongan", "dinarpus-kota-pekalongan"):
            page = client.get(f"/doc/organisation/{agency}", headers=HTML)
            assert 20_000 < len(page.data) < 40_000
        files = list((store_copy / "dumps" / "pages").iterdir())
        assert len(files) == 1 and files[0].stat().st_size <= 40_000


def test_the_home_page_and_the_hubs_are_rendered_before_their_first_visitors(store_copy: Path):
    """A web process renders ahead the home page and the pages of the entities most linked to
    (service.warming): in each language, and their documents in Turtle; the first visitor, in
    either language, is answered from the cache with the page it would have been rendered,
    and another web process reads the same file."""
    from service.warming import render_warmed, warm_pages, warmed_pages

    alone = {"SHARED_PAGES": False}  # reads no page file: renders, or finds its own pages
    with web_processes(store_copy, {}, alone, {}, alone) as (one, fresh, other, started):
        with one.app_context():
            pages = warmed_pages()
        hubs = [path for path, media_type, _ in pages if media_type == "text/turtle"]
        # Every passage is of the article; the ministry confers every designation.
        assert hubs[0] == "/doc/article/garudacitizen-2020-12-21-wbk-pekalongan"
        assert "/doc/organisation/kemenpan-rb" in hubs and len(hubs) == 5
        assert render_warmed(one)
        for path in ["/", *hubs]:
            for language in ("id", "en"):
                headers = {**HTML, "Accept-Language": language}
                warmed = one.test_client().get(path, headers=headers)
                assert warmed.status_code == 200 and warmed.headers[CACHE] == "hit", path
                rendered = fresh.test_client().get(path, headers=headers)
                assert rendered.headers[CACHE] == "miss" and rendered.data == warmed.data
                assert other.test_client().get(path, headers=headers).headers[CACHE] == "hit"
        for path in hubs:  # a document in an RDF format is the same in every language
            for language in ("id", "en"):
                headers = {"Accept": "text/turtle", "Accept-Language": language}
                warmed = one.test_client().get(path, headers=headers)
                assert warmed.headers[CACHE] == "hit" and warmed.mimetype == "text/turtle"
                assert fresh.test_client().get(path, headers=headers).data == warmed.data
        # As a served web process starts it: a thread of its own, which renders every page.
        expected = sum(len(LANGUAGES) if language is None else 1 for *_, language in pages)
        stop = threading.Event()
        thread = warm_pages(started, stop)
        try:
            deadline = time.monotonic() + 60
            while len(started.extensions.get("zigraph.pages") or ()) < expected:
                assert time.monotonic() < deadline, "the pages were not rendered ahead in 60 s"
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()
        for path in ["/", *hubs]:
            for language in ("id", "en"):
                headers = {**HTML, "Accept-Language": language}
                first = started.test_client().get(path, headers=headers)
                assert first.status_code == 200 and first.headers[CACHE] == "hit", path
