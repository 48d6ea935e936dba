"""The pages in a real browser: Chromium driven by Playwright against a live local server."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright import sync_api as playwright_api
from werkzeug.serving import make_server

from service import create_app, dataset
from service.store import building
from tests.test_add_a_source import curate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
DOCS_IMAGES = REPO / "docs" / "img"
PHONE = {"width": 390, "height": 844}

# Debian's Chromium runs these (make check leaves them out: they are marked browser).
pytestmark = pytest.mark.browser


@contextmanager
def serving(store_dir: Path):
    """Serve the application over a store on a free local port, then stop it."""
    app = create_app({"STORE_DIR": str(store_dir)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        backend = app.extensions.get("zigraph.store")
        if backend is not None:
            backend.close()


@pytest.fixture(scope="module")
def live_server(store_dir):
    """Serve the shipped data for the module's tests."""
    with serving(store_dir) as url:
        yield url


@pytest.fixture(scope="module")
def curated_server(tmp_path_factory):
    """Serve the shipped data plus the made-up sources of the README's walk-through."""
    folder = curate(tmp_path_factory.mktemp("curated") / "data")
    store = tmp_path_factory.mktemp("curated-store") / "store"
    building.build_store(dataset.selected_files([folder]), store)
    with serving(store) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Launch the system Chromium headless, never a downloaded one."""
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_factory(browser):
    """Open pages in fresh contexts (Indonesian locale), collecting CSP and script errors."""
    contexts = []

    def open_page(viewport=None, javascript=True):
        context = browser.new_context(
            viewport=viewport or {"width": 1200, "height": 1000},
            locale="id-ID",
            java_script_enabled=javascript,
        )
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on(
            "console",
            lambda message: page.problems.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def shoot(page, name: str, **options) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def test_reader_goes_from_home_to_an_entity_and_runs_a_query(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("h1").inner_text() == "Graf pengetahuan Zona Integritas"
    shoot(page, "home", full_page=True)

    page.fill("#site-q", "DPMPTSP")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search?q=DPMPTSP")
    hit = page.locator("li.hit a").first
    assert "Penanaman Modal" in hit.inner_text()
    shoot(page, "search")

    hit.click()
    page.wait_for_url("**/doc/organisation/dpmptsp-kota-pekalongan")
    assert "Dinas Penanaman Modal" in page.locator("h1").inner_text()
    summary = page.locator("div.summary")
    assert "Menerima predikat WBK tahun 2020" in summary.inner_text()

    bars = page.locator("svg.funnel-svg rect.bar")
    assert bars.count() == 3
    widths = [bars.nth(i).bounding_box()["width"] for i in range(3)]
    assert widths[0] > widths[1] > widths[2] > 0
    entity_shot = shoot(page, "entity-page")
    funnel_shot = shoot(page.locator("figure.funnel").first, "funnel")
    neighbourhood_shot = shoot(page.locator("figure.neighbourhood"), "neighbourhood")
    shoot(page, "entity-page-full", full_page=True)
    source = page.locator("#incoming details.source").first
    source.locator("summary").click()
    assert source.locator("mark", has_text="(DPMPTSP)").is_visible()
    if os.environ.get("ZIGRAPH_UPDATE_DOCS_IMAGES"):  # `make screenshots` refreshes the README's
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entity_shot, DOCS_IMAGES / "entity-page.png")
        shutil.copyfile(funnel_shot, DOCS_IMAGES / "funnel.png")
        shutil.copyfile(neighbourhood_shot, DOCS_IMAGES / "neighbourhood.png")

    page.click("a.lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#incoming-h").inner_text().startswith("Linked from")
    assert "Pekalongan City Investment" in page.locator("h1").inner_text()

    page.click("nav >> text=SPARQL query")
    page.wait_for_url("**/query")
    page.locator("a.run-example").first.click()
    page.wait_for_selector("table.results")
    rows = page.locator("table.results tbody tr")
    assert rows.count() >= 1
    shoot(page, "query-results", full_page=True)

    link = page.locator("table.results tbody a[href^='/doc/']").first
    target = link.get_attribute("href")
    link.click()
    page.wait_for_url("**" + target)
    assert page.locator("h1").inner_text()
    assert page.locator("#statements").is_visible()
    assert not page.problems, page.problems


def replace_in_editor(page, text: str) -> None:
    """Select all of the query editor's text and type ``text`` over it, as a reader would."""
    page.locator(".query-form .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)
    # The hint list follows the last key in the next animation frame (CodeMirror's show-hint):
    # until then the list of the key before is up, and Enter may meet it as it is replaced.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


EDITOR_TEXT = "() => document.querySelector('.query-form .CodeMirror').CodeMirror.getValue()"


def test_ctrl_enter_runs_the_query(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/query?lang=en")
    replace_in_editor(page, "ASK { ?s ?p ?o }")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("p.boolean-answer")
    assert page.locator("p.boolean-answer").inner_text().startswith("Yes")
    assert not page.problems, page.problems


def test_result_columns_sort_when_their_header_is_pressed(live_server, page_factory):
    page = page_factory()
    query = "SELECT ?n WHERE { VALUES ?n { 3 11 2 } }"
    page.goto(live_server + "/query?lang=en&query=" + query.replace(" ", "+"))
    cells = page.locator("table.results tbody td span.literal")
    assert cells.all_inner_texts() == ["3", "11", "2"]
    page.locator("table.results th button.sort").click()
    assert cells.all_inner_texts() == ["2", "3", "11"]
    assert page.locator("table.results th").get_attribute("aria-sort") == "ascending"
    page.locator("table.results th button.sort").click()
    assert cells.all_inner_texts() == ["11", "3", "2"]
    assert not page.problems, page.problems


def test_search_finds_the_articles_own_typo_and_marks_it(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/")
    page.fill("#site-q", "koruosi")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search?q=koruosi")
    passage = page.locator("li.hit[data-rank=quoted]").first
    assert passage.locator("mark").first.inner_text() == "koruosi"
    assert page.problems == []


def test_a_fact_offers_a_citation_to_copy_that_names_paragraph_and_sentence(
    live_server, page_factory
):
    page = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(live_server + "/doc/conferral/wbk-2020-dpmptsp-kota-pekalongan")
    sentence = page.locator("#cite-sentence").inner_text()
    assert "paragraf 1, kalimat 1" in sentence and "Garudacitizen" in sentence
    button = page.locator("#cite button.copy").first
    button.click()
    page.wait_for_function("document.querySelector('#cite button.copy').textContent === 'Tersalin'")
    assert page.evaluate("navigator.clipboard.readText()") == sentence
    page.locator("#cite details summary", has_text="BibTeX").click()
    assert page.locator("#cite-bib").inner_text().startswith("@")
    assert not page.problems, page.problems


def test_query_page_works_without_javascript(live_server, page_factory):
    page = page_factory(javascript=False)
    page.goto(live_server + "/query")
    assert page.locator(".CodeMirror").count() == 0
    page.fill("#query-text", "SELECT ?s WHERE { ?s a <https://w3id.org/zigraph/ontology#Passage> }")
    page.click("form.query-form button[type=submit]")
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() > 1


def test_undeclared_prefix_is_fixed_with_one_click_without_javascript(live_server, page_factory):
    page = page_factory(javascript=False)
    page.goto(live_server + "/query?lang=en")
    page.fill("#query-text", "SELECT ?c WHERE { ?c zi:recipient ?r }")
    page.click("form.query-form button[type=submit]")
    page.wait_for_selector("section.query-error")
    assert page.locator("pre.error-place mark.error-spot").inner_text() == "z"
    page.click("form.prefix-fix button")
    page.wait_for_selector("table.results")
    assert page.locator("#query-text").input_value().startswith("PREFIX zi: <")
    assert page.locator("table.results tbody tr").count() == 2


def test_query_editor_highlights_and_completes_prefixes(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/query?lang=en")
    editor = page.locator(".query-form .CodeMirror")
    editor.wait_for()
    assert not page.locator("#query-text").is_visible()  # the editor stands in for it
    assert page.locator(".CodeMirror .cm-keyword", has_text="SELECT").count() >= 1

    replace_in_editor(page, "PREFIX zi")
    hints = page.locator(".CodeMirror-hints")
    hints.wait_for()
    assert "PREFIX zi: <https://w3id.org/zigraph/ontology#>" in hints.inner_text()
    page.keyboard.press("Enter")
    assert page.evaluate(EDITOR_TEXT) == "PREFIX zi: <https://w3id.org/zigraph/ontology#>"

    replace_in_editor(page, "SELECT ?c WHERE { ?c a sk")
    hints.wait_for()
    first = hints.locator("li").first  # the prefix, then the terms that start with it
    # The list shown for "s" may still be up for a moment after the "k": wait for its refresh.
    playwright_api.expect(first).to_contain_text("skos:")
    assert first.inner_text().split() == ["skos:", "http://www.w3.org/2004/02/skos/core#"]
    page.keyboard.press("Enter")
    # The chosen prefix brings its declaration along.
    assert page.evaluate(EDITOR_TEXT) == (
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\nSELECT ?c WHERE { ?c a skos:"
    )
    page.keyboard.type("Concept }")
    assert page.locator(".CodeMirror .cm-variable-2", has_text="?c").count() == 2
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#results")
    assert page.evaluate(EDITOR_TEXT).startswith("PREFIX skos:")
    assert not page.problems, page.problems


def test_query_editor_completes_terms_of_the_data(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/query?lang=en")
    replace_in_editor(page, "SELECT ?d WHERE { ?c zi:conferralD")
    page.locator(".CodeMirror-hints li", has_text="zi:conferralDate").wait_for()
    page.keyboard.press("Enter")
    assert page.evaluate(EDITOR_TEXT) == (
        "PREFIX zi: <https://w3id.org/zigraph/ontology#>\nSELECT ?d WHERE { ?c zi:conferralDate"
    )
    assert not page.problems, page.problems


def test_query_editor_marks_where_the_parser_stopped(live_server, page_factory):
    page = page_factory()
    page.goto(live_server + "/query?lang=en&query=" + quote("SELECT ?x WHERE {\n  ?x ?p ?o ]\n}"))
    spot = page.locator(".CodeMirror .cm-error-spot")
    assert spot.inner_text() == "]"
    assert page.locator(".CodeMirror .cm-error-line").count() == 1
    # The browser reports the page's own 400 status; nothing else may go wrong.
    assert [p for p in page.problems if "status of 400" not in p] == []


PHONE_PAGES = {
    "home": "/",
    "search": "/search?q=DPMPTSP",
    "entity": "/doc/organisation/dpmptsp-kota-pekalongan",
    "conferral": "/doc/conferral/wbk-2020-dpmptsp-kota-pekalongan",
    "person": "/doc/person/beno-heritriono",
    "stage": "/doc/stage/kota-pekalongan-2020-2-dinilai-tingkat-nasional",
    "article": "/doc/article/garudacitizen-2020-12-21-wbk-pekalongan",
    "browse": "/browse",
    "class": "/browse/class?iri=https%3A%2F%2Fw3id.org%2Fzigraph%2Fontology%23Dinas",
    "query": "/query?query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+5",
    "query-error": "/query?query="
    + quote("SELECT ?c ?n WHERE {\n  ?c zi:recipient ?r .\n  ?r schema:name ?n\n}"),
    "query-nothing": "/query?query="
    + quote(
        "PREFIX zi: <https://w3id.org/zigraph/ontology#>\nSELECT ?d WHERE { ?c zi:conferalDate ?d }"
    ),
    "ontology": "/ontology",
    "shapes": "/shapes",
    "validation": "/validation",
    "not-found": "/doc/organisation/no-such-agency",
    "catalog": "/catalog",
    "void": "/.well-known/void",
}

# Every visible text's rendered size (SVG text scaled with its picture), in CSS pixels.
SMALLEST_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.textContent.trim() || !element || !element.getClientRects().length) continue;
    const hidden = '.visually-hidden, .skip, details:not([open]) > :not(summary), title, desc';
    if (element.closest(hidden)) continue;
    let size = parseFloat(getComputedStyle(element).fontSize);
    const svg = element.closest('svg');
    if (svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
      size *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    }
    found.push([size, node.textContent.trim().slice(0, 40)]);
  }
  return found.sort((a, b) => a[0] - b[0]).slice(0, 3);
}"""

# Interactive elements that are targets of their own (not links inside a sentence).
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'button, input, select, summary, nav a, .lang-switch, .downloads a, .pagination a, '
    + '.nb-node a, .nb-more a, .passage-no'))
  .filter(e => e.getClientRects().length)
  .map(e => [e.getBoundingClientRect().height, e.textContent.trim().slice(0, 30)])
  .filter(([height]) => height < 24)"""

# Words split across two lines (a table cell wrapping "Tang/gal"); IRIs may break anywhere,
# hyphenated words at their hyphens.
SPLIT_WORDS = r"""() => {
  const split = [];
  for (const cell of document.querySelectorAll('td, th, dt, dd, .nb-node, .summary, h1')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest('.iri-text, code, .annot, .iri')) continue;
      const re = /[^\s\-–]+/g; let m;
      while ((m = re.exec(node.textContent))) {
        if (m[0].length > 30 || m[0].includes('/')) continue;
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("name", sorted(PHONE_PAGES))
def test_pages_fit_a_phone_screen(live_server, page_factory, name, lang):
    page = page_factory(viewport=PHONE)
    separator = "&" if "?" in PHONE_PAGES[name] else "?"
    page.goto(live_server + PHONE_PAGES[name] + f"{separator}lang={lang}")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow}px wider than the screen"
    smallest = page.evaluate(SMALLEST_TEXT)
    assert smallest[0][0] >= 12, f"text under 12 px on {name}: {smallest}"
    small = page.evaluate(SMALL_TARGETS)
    assert small == [], f"targets under 24 px on {name}: {small}"
    split = page.evaluate(SPLIT_WORDS)
    assert split == [], f"words split across lines on {name}: {split}"
    shoot(page, f"phone-{name}-{lang}", full_page=True)
    if name not in ("not-found", "query-error"):  # the browser reports the page's 404 or 400
        assert not page.problems, page.problems


NEIGHBOURHOOD_PAGES = [p for n, p in PHONE_PAGES.items() if p.startswith("/doc/")][:-1]

OVERLAPS = """() => {
  const boxes = Array.from(document.querySelectorAll('figure.neighbourhood .nb-node, '
    + 'figure.neighbourhood .nb-centre, figure.neighbourhood .nb-more'))
    .map(e => e.getBoundingClientRect());
  const overlaps = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
      overlaps.push([i, i + 1 + j]);
    }
  }));
  return [boxes.length, overlaps];
}"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["390", "1280"])
@pytest.mark.parametrize("path", NEIGHBOURHOOD_PAGES)
def test_neighbourhood_boxes_never_overlap(live_server, page_factory, path, viewport):
    page = page_factory(viewport=viewport)
    page.goto(live_server + path)
    count, overlaps = page.evaluate(OVERLAPS)
    assert count >= 2
    assert overlaps == [], f"overlapping node boxes on {path}: {overlaps}"


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("name", sorted(PHONE_PAGES))
def test_pages_have_no_accessibility_violations(live_server, page_factory, name, lang):
    from axe_playwright_python.sync_playwright import Axe

    page = page_factory()
    separator = "&" if "?" in PHONE_PAGES[name] else "?"
    page.goto(live_server + PHONE_PAGES[name] + f"{separator}lang={lang}")
    results = Axe().run(page)
    violations = [
        (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
    ]
    assert violations == [], f"{name}: {violations}"


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["390", "1280"])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_count_sources_dispute_shows_every_value_with_its_source(
    curated_server, page_factory, viewport, lang
):
    page = page_factory(viewport=viewport)
    page.goto(curated_server + f"/doc/stage/kota-contoh-2023-1-diusulkan?lang={lang}")
    headline = page.locator("dd.disputed p.disagreement")
    assert headline.is_visible()
    values = headline.locator("span.claimed-value")
    assert values.all_inner_texts() == ["11 (Warta Contoh)", "12 (Suara Contoh)"]
    quotes = page.locator("dd.disputed ul.values > li")
    quotes.nth(1).locator("details.source summary").click()
    assert quotes.nth(1).locator("mark", has_text="Sebanyak 12 OPD").is_visible()
    assert page.locator("svg.funnel-svg rect.bar.disputed").count() == 1
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    assert page.evaluate(SPLIT_WORDS) == []
    assert page.evaluate(SMALLEST_TEXT)[0][0] >= 12
    shoot(page, f"disputed-count-{viewport['width']}-{lang}", full_page=True)
    assert not page.problems, page.problems


# A query with twelve columns: the conferrals and everything they state.
TWELVE_COLUMNS = """PREFIX zi: <https://w3id.org/zigraph/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?c ?label ?recipient ?designation ?year ?date ?by ?handed ?ceremony ?reason ?source ?type
WHERE { ?c a zi:DesignationConferral ; a ?type ; skos:prefLabel ?label ; zi:recipient ?recipient ;
  zi:designation ?designation ; zi:assessmentYear ?year ; zi:conferralDate ?date ;
  zi:conferredBy ?by ; zi:handedOverBy ?handed ; zi:ceremony ?ceremony ; zi:reason ?reason ;
  prov:wasDerivedFrom ?source }"""

# The box holding a table: its edges, and how far its content reaches past them.
TABLE_BOX = """(selector) => {
  const table = document.querySelector(selector);
  const box = table.closest('.table-wrap');
  const r = box.getBoundingClientRect();
  return {left: r.left, right: r.right, height: r.height, wide: box.scrollWidth,
          shown: box.clientWidth, overflow: getComputedStyle(box).overflowX,
          window: [document.documentElement.clientWidth, window.innerHeight],
          cells: Array.from(table.querySelectorAll('td')).filter(td => {
            const c = td.getBoundingClientRect();
            return c.width > 0 && (c.right > r.right + 1 || c.left < r.left - 1);
          }).length};
}"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}], ids=["390", "1280"])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_tables_fit_the_screen_or_scroll_inside_it(live_server, page_factory, viewport, lang):
    """The home table shows every column (cards on a phone); twelve result columns scroll."""
    page = page_factory(viewport=viewport)
    page.goto(live_server + f"/?lang={lang}")
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    home = page.evaluate(TABLE_BOX, "table.conferrals")
    assert home["wide"] <= home["shown"] and home["cells"] == 0, home
    source = "Sumber" if lang == "id" else "Source"
    for label in ("Diberikan oleh", "Penetapan", source) if lang == "id" else (source,):
        cell = page.locator(f'table.conferrals td[data-label="{label}"]').first
        box = cell.bounding_box()
        assert cell.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    shoot(page.locator("table.conferrals"), f"home-table-{viewport['width']}-{lang}")

    page.goto(live_server + f"/query?lang={lang}&query=" + quote(TWELVE_COLUMNS))
    assert page.locator("table.results thead th").count() == 12
    assert page.evaluate(overflow) <= 0
    results = page.evaluate(TABLE_BOX, "table.results")
    assert results["left"] >= 0 and results["right"] <= results["window"][0], results
    # The box scrolls sideways within one screen, so its scrollbar can be reached.
    assert results["overflow"] == "auto" and results["wide"] > results["shown"], results
    assert results["height"] <= results["window"][1], results
    box = page.locator(".results-wrap")
    box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    last = page.locator("table.results thead th").last.bounding_box()
    assert last["x"] + last["width"] <= viewport["width"]
    shoot(page, f"query-twelve-columns-{viewport['width']}-{lang}")
    assert not page.problems, page.problems
