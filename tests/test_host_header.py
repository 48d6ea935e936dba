"""A forged ``Host`` header reaches no document: absolute URLs come from ``PUBLIC_URL``."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from service import create_app
from service.namespaces import FOAF, RDF

PUBLIC_URL = "https://zigraph.test"
FORGED = {"Host": "evil.example"}
ENTITY = "organisation/dpmptsp-kota-pekalongan"
DOCUMENT = ox.NamedNode(f"{PUBLIC_URL}/doc/{ENTITY}")


@pytest.fixture(scope="module")
def public_app(store_dir):
    """Yield an application over the shipped data that knows its public address."""
    application = create_app(
        {"TESTING": True, "STORE_DIR": str(store_dir), "PUBLIC_URL": PUBLIC_URL}
    )
    yield application
    application.extensions["zigraph.store"].close()


def parsed(response) -> list[ox.Quad]:
    """Return the RDF of a response, read in the media type it declares."""
    media_type = response.headers["Content-Type"].split(";")[0]
    return list(ox.parse(response.data, format=ox.RdfFormat.from_media_type(media_type)))


def forged_terms(quads: list[ox.Quad]) -> list[str]:
    """Return the terms that name the forged host."""
    return [
        term.value
        for quad in quads
        for term in (quad.subject, quad.predicate, quad.object)
        if "evil.example" in term.value
    ]


@pytest.mark.parametrize(
    "accept", ["text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"]
)
def test_entity_document_names_the_public_url_not_the_forged_host(public_app, accept):
    """Guards url_for(_external=True), which wrote the request's Host into the document."""
    response = public_app.test_client().get(f"/doc/{ENTITY}", headers={**FORGED, "Accept": accept})
    assert response.status_code == 200
    quads = parsed(response)
    assert ox.Quad(DOCUMENT, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(FOAF.Document))) in quads
    assert forged_terms(quads) == []


def test_entity_document_by_suffix_names_the_public_url_not_the_forged_host(public_app):
    response = public_app.test_client().get(f"/doc/{ENTITY}.ttl", headers=FORGED)
    assert response.status_code == 200
    quads = parsed(response)
    assert DOCUMENT in {q.subject for q in quads}
    assert forged_terms(quads) == []


def test_entity_page_and_its_redirect_do_not_name_the_forged_host(public_app):
    client = public_app.test_client()
    redirect = client.get(f"/id/{ENTITY}", headers=FORGED)
    assert redirect.status_code == 303
    assert "evil.example" not in redirect.headers["Location"]
    page = client.get(f"/doc/{ENTITY}", headers={**FORGED, "Accept": "text/html"})
    assert page.status_code == 200
    assert b"evil.example" not in page.data
    assert "evil.example" not in str(page.headers)


@pytest.mark.parametrize("path", ["/sparql", "/.well-known/void", "/catalog"])
def test_descriptions_name_the_public_url_not_the_forged_host(public_app, path):
    response = public_app.test_client().get(path, headers={**FORGED, "Accept": "text/turtle"})
    assert response.status_code == 200
    quads = parsed(response)
    assert forged_terms(quads) == []
    assert any(q.subject.value.startswith(PUBLIC_URL) for q in quads)
