"""Generate a synthetic Zona Integritas dataset of a chosen size, identical for a given seed.

The data has the shape of zigraph's curated graph (see ``graph_data/``): cities and their
local governments, regional agencies (OPD) as units of those governments, yearly selection
pipelines with three stages, and WBK/WBBM designation conferrals. Like the curated facts,
every fact cites the passage that states it: each city has a made-up news article (a text in
``sources/`` and its RDF, marked as synthetic, in a graph of its own) with one sentence per
fact, and passages that quote it with exact offsets; so the data conforms to the shapes, and
validating it exercises every rule. Each city goes into its own named graphs; a city's
content depends only on the seed and its index, so a smaller scale is a prefix of a larger one.

    python bench/generate.py --scale 100k            # bench/data/zi-100k-seed42/dataset.nq
    python bench/generate.py --scale 1M --turtle     # also dataset.ttl (the union graph)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH.parent) not in sys.path:
    sys.path.insert(0, str(BENCH.parent))

from service.namespaces import (  # noqa: E402
    DCTERMS,
    GRAPH_BASE,
    ID_BASE,
    OA,
    ORG,
    PREFIXES,
    PROV,
    RDF,
    SCHEMA,
    SKOS,
    SOURCE_BASE,
    XSD,
    ZI,
)

GENERATOR_VERSION = 3  # bump when the output for a given seed and scale changes
PUBLISHER = "synthetic-press"  # the made-up outlet of every synthetic article
CONTEXT = 32  # characters of a quote's prefix and suffix, as in graph_data/
DATA_DIR = BENCH / "data"
YEARS = range(2015, 2025)

# (slug, short name, Indonesian name, English name, class) of the agencies a city may have.
AGENCY_CATALOGUE = (
    (
        "dpmptsp",
        "DPMPTSP",
        "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
        "Investment and One-Stop Integrated Services Agency",
        "Dinas",
    ),
    (
        "dinarpus",
        "Dinarpus",
        "Dinas Kearsipan dan Perpustakaan",
        "Archives and Library Agency",
        "Dinas",
    ),
    (
        "disdukcapil",
        "Disdukcapil",
        "Dinas Kependudukan dan Pencatatan Sipil",
        "Population and Civil Registration Agency",
        "Dinas",
    ),
    ("dinkes", "Dinkes", "Dinas Kesehatan", "Health Agency", "Dinas"),
    ("disdik", "Disdik", "Dinas Pendidikan", "Education Agency", "Dinas"),
    ("dishub", "Dishub", "Dinas Perhubungan", "Transport Agency", "Dinas"),
    ("dinsos", "Dinsos", "Dinas Sosial", "Social Affairs Agency", "Dinas"),
    ("disnaker", "Disnaker", "Dinas Tenaga Kerja", "Manpower Agency", "Dinas"),
    ("dlh", "DLH", "Dinas Lingkungan Hidup", "Environment Agency", "Dinas"),
    (
        "dpupr",
        "DPUPR",
        "Dinas Pekerjaan Umum dan Penataan Ruang",
        "Public Works and Spatial Planning Agency",
        "Dinas",
    ),
    (
        "diskominfo",
        "Diskominfo",
        "Dinas Komunikasi dan Informatika",
        "Communication and Informatics Agency",
        "Dinas",
    ),
    (
        "disperindag",
        "Disperindag",
        "Dinas Perindustrian dan Perdagangan",
        "Industry and Trade Agency",
        "Dinas",
    ),
    ("dispora", "Dispora", "Dinas Pemuda dan Olahraga", "Youth and Sports Agency", "Dinas"),
    (
        "disbudpar",
        "Disbudpar",
        "Dinas Kebudayaan dan Pariwisata",
        "Culture and Tourism Agency",
        "Dinas",
    ),
    (
        "dinkop-ukm",
        "Dinkop UKM",
        "Dinas Koperasi dan Usaha Kecil Menengah",
        "Cooperatives and Small Business Agency",
        "Dinas",
    ),
    (
        "dispertan",
        "Dispertan",
        "Dinas Pertanian dan Pangan",
        "Agriculture and Food Agency",
        "Dinas",
    ),
    (
        "disperkim",
        "Disperkim",
        "Dinas Perumahan dan Kawasan Permukiman",
        "Housing and Settlements Agency",
        "Dinas",
    ),
    ("damkar", "Damkar", "Dinas Pemadam Kebakaran", "Fire Service Agency", "Dinas"),
    (
        "dp3a",
        "DP3A",
        "Dinas Pemberdayaan Perempuan dan Perlindungan Anak",
        "Women's Empowerment and Child Protection Agency",
        "Dinas",
    ),
    (
        "dppkb",
        "DPPKB",
        "Dinas Pengendalian Penduduk dan Keluarga Berencana",
        "Population Control and Family Planning Agency",
        "Dinas",
    ),
    (
        "satpol-pp",
        "Satpol PP",
        "Satuan Polisi Pamong Praja",
        "Civil Service Police Unit",
        "RegionalAgency",
    ),
    ("bapenda", "Bapenda", "Badan Pendapatan Daerah", "Regional Revenue Agency", "RegionalAgency"),
    (
        "bappeda",
        "Bappeda",
        "Badan Perencanaan Pembangunan Daerah",
        "Regional Development Planning Agency",
        "RegionalAgency",
    ),
    (
        "bkpsdm",
        "BKPSDM",
        "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
        "Civil Service and Human Resources Development Agency",
        "RegionalAgency",
    ),
    ("rsud", "RSUD", "Rumah Sakit Umum Daerah", "Regional General Hospital", "RegionalAgency"),
    ("inspektorat", "Inspektorat", "Inspektorat Daerah", "Regional Inspectorate", "RegionalAgency"),
)
DISTRICTS = (
    ("utara", "Utara", "North"),
    ("selatan", "Selatan", "South"),
    ("barat", "Barat", "West"),
    ("timur", "Timur", "East"),
    ("tengah", "Tengah", "Central"),
)
PROVINCES = (
    ("aceh", "Aceh", "Aceh"),
    ("sumatera-utara", "Sumatera Utara", "North Sumatra"),
    ("sumatera-barat", "Sumatera Barat", "West Sumatra"),
    ("riau", "Riau", "Riau"),
    ("jambi", "Jambi", "Jambi"),
    ("sumatera-selatan", "Sumatera Selatan", "South Sumatra"),
    ("lampung", "Lampung", "Lampung"),
    ("jawa-barat", "Jawa Barat", "West Java"),
    ("jawa-tengah", "Jawa Tengah", "Central Java"),
    ("jawa-timur", "Jawa Timur", "East Java"),
    ("banten", "Banten", "Banten"),
    ("bali", "Bali", "Bali"),
    ("kalimantan-barat", "Kalimantan Barat", "West Kalimantan"),
    ("kalimantan-timur", "Kalimantan Timur", "East Kalimantan"),
    ("sulawesi-selatan", "Sulawesi Selatan", "South Sulawesi"),
    ("sulawesi-utara", "Sulawesi Utara", "North Sulawesi"),
    ("maluku", "Maluku", "Maluku"),
    ("papua", "Papua", "Papua"),
)
NAME_HEADS = (
    "Suka", "Tanjung", "Karang", "Sumber", "Pasir", "Batu", "Bukit", "Muara", "Sungai",
    "Teluk", "Padang", "Pangkal", "Kuala", "Rantau", "Tebing", "Lubuk", "Pulau", "Gunung",
    "Talang", "Bandar",
)  # fmt: skip
NAME_TAILS = (
    "jaya", "makmur", "sari", "raya", "baru", "indah", "asri", "mulya", "harjo", "rejo",
    "wangi", "tinggi", "agung", "lestari", "permai", "damai", "mas", "kencana", "mekar", "sejati",
)  # fmt: skip
NAME_QUALIFIERS = ("", "Hilir", "Hulu", "Lama", "Pesisir", "Utama", "Selatan", "Barat")
STAGES = (
    ("1-diusulkan", "Diusulkan kepada Kemenpan-RB", "Proposed to Kemenpan-RB"),
    (
        "2-dinilai-tingkat-nasional",
        "Disetujui untuk dinilai di tingkat nasional",
        "Approved for national assessment",
    ),
    ("3-ditetapkan", "Ditetapkan meraih predikat", "Designated"),
)
DESIGNATIONS = {
    "wbk": ("Wilayah Bebas dari Korupsi", "Corruption-Free Area", "WBK"),
    "wbbm": ("Wilayah Birokrasi Bersih dan Melayani", "Clean and Serving Bureaucracy Area", "WBBM"),
}
MINISTRY = "kemenpan-rb"


def parse_scale(text: str) -> int:
    """Return a triple count from ``10000``, ``10k``, ``2.5M`` and the like."""
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text and text[-1] in "km":
        factor = 1_000 if text[-1] == "k" else 1_000_000
        text = text[:-1]
    value = int(float(text) * factor)
    if value < 1:
        raise argparse.ArgumentTypeError("the scale must be at least 1 triple")
    return value


def scale_name(triples: int) -> str:
    """Return the short name of a scale: 1000000 becomes ``1M``, 100000 ``100k``."""
    if triples % 1_000_000 == 0:
        return f"{triples // 1_000_000}M"
    if triples % 1_000 == 0:
        return f"{triples // 1_000}k"
    return str(triples)


def default_folder(triples: int, seed: int) -> Path:
    """Return the folder a dataset of this scale and seed is written to."""
    return DATA_DIR / f"zi-{scale_name(triples)}-seed{seed}"


def entity(kind: str, slug: str) -> str:
    """Return an entity IRI in N-Quads form, ``<…/id/{kind}/{slug}>``."""
    return f"<{ID_BASE}{kind}/{slug}>"


def literal(value: str, lang: str | None = None, datatype: str | None = None) -> str:
    """Return a literal in N-Quads form, escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{datatype}>'
    return f'"{escaped}"'


A = f"<{RDF.type}>"
PREF = f"<{SKOS.prefLabel}>"
ALT = f"<{SKOS.altLabel}>"


def zi(name: str) -> str:
    """Return a term of the zigraph ontology in N-Quads form."""
    return f"<{ZI[name]}>"


def integer(value: int) -> str:
    """Return an xsd:integer literal in N-Quads form (counts, orders and offsets)."""
    return literal(str(value), datatype=str(XSD.integer))


def labels(subject: str, indonesian: str, english: str) -> list[tuple[str, str, str]]:
    """Return the two preferred labels of an entity."""
    return [(subject, PREF, literal(indonesian, "id")), (subject, PREF, literal(english, "en"))]


class SyntheticArticle:
    """A made-up news article: its text, one sentence per fact, and the passages quoting it.

    The text says it is made up; its RDF marks the article as synthetic, so that nobody
    takes a generated fact for one a real source states.
    """

    def __init__(self, slug: str, title_id: str, title_en: str, year: int) -> None:
        self.slug = f"synthetic-{slug}"
        self.iri = entity("article", self.slug)
        self.title = (title_id, title_en)
        self.year = year
        self.text = (
            "CONTOH SINTETIS: teks rekaan bench/generate.py untuk uji beban zigraph, "
            "bukan berita nyata.\n"
        )
        self.triples: list[tuple[str, str, str]] = []
        self.ends: list[tuple[str, int]] = []  # (quote selector, end of its quote)
        self.passages = 0

    def cite(self, sentence: str) -> str:
        """Add a sentence to the text and return a passage quoting it, in N-Quads form."""
        start = len(self.text)  # code points, as the curated passages count them
        self.text += sentence + " "
        end = start + len(sentence)
        self.passages += 1
        passage_slug = f"{self.slug}/{self.passages:03d}"
        passage = entity("passage", passage_slug)
        quote = entity("passage", f"{passage_slug}/quote")
        position = entity("passage", f"{passage_slug}/position")
        self.triples += [
            (passage, A, zi("Passage")),
            (passage, f"<{OA.hasSource}>", self.iri),
            (passage, f"<{OA.hasSelector}>", quote),
            (passage, f"<{OA.hasSelector}>", position),
            (quote, A, f"<{OA.TextQuoteSelector}>"),
            (quote, f"<{OA.exact}>", literal(sentence)),
            (quote, f"<{OA.prefix}>", literal(self.text[max(0, start - CONTEXT) : start])),
            (position, A, f"<{OA.TextPositionSelector}>"),
            (position, f"<{OA.start}>", integer(start)),
            (position, f"<{OA.end}>", integer(end)),
        ]
        self.ends.append((quote, end))
        return passage

    def finish(self) -> list[tuple[str, str, str]]:
        """Return the article's triples, the suffixes of its quotes included."""
        triples = []
        text_file = f"<{SOURCE_BASE}{self.slug}.txt>"
        article = self.iri
        self.text = self.text.rstrip(" ") + "\n"
        triples += [
            (article, A, f"<{SCHEMA.NewsArticle}>"),
            (article, f"<{SCHEMA.publisher}>", entity("organisation", PUBLISHER)),
            (article, f"<{SCHEMA.inLanguage}>", literal("id")),
            (
                article,
                f"<{SCHEMA.datePublished}>",
                literal(str(self.year), datatype=str(XSD.gYear)),
            ),
            (article, f"<{DCTERMS.hasFormat}>", text_file),
            (article, f"<{SKOS.editorialNote}>", literal("Artikel rekaan untuk uji beban.", "id")),
            (
                article,
                f"<{SKOS.editorialNote}>",
                literal("A made-up article for load tests.", "en"),
            ),
            (text_file, f"<{DCTERMS.format}>", literal("text/plain; charset=utf-8")),
        ]
        triples += labels(article, *self.title)
        triples += self.triples
        # A suffix may reach into later sentences, so suffixes wait for the whole text.
        for quote, end in self.ends:
            triples.append((quote, f"<{OA.suffix}>", literal(self.text[end : end + CONTEXT])))
        return triples


class QuadWriter:
    """Write triples into named graphs of one N-Quads file and count them."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8", newline="\n")
        self.triples = 0

    def write(self, graph: str, triples: list[tuple[str, str, str]]) -> None:
        """Write triples into the graph ``graph`` (an IRI)."""
        g = f"<{graph}>"
        self.file.write("".join(f"{s} {p} {o} {g} .\n" for s, p, o in triples))
        self.triples += len(triples)

    def close(self) -> None:
        self.file.close()


class Progress:
    """A one-line progress bar on standard error; silent for small outputs."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        percent = min(100, done * 100 // self.total)
        if percent == self.shown:
            return
        self.shown = percent
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"\r[{bar}] {percent:3d}% {done:,}/{self.total:,} triples {elapsed:5.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def ceremony_dates(seed: int) -> dict[int, str]:
    """Return the date of each year's national conferral ceremony (around 9 December)."""
    rng = random.Random(f"{seed}:ceremonies")
    return {year: f"{year}-12-{rng.randint(9, 21):02d}" for year in YEARS}


def reference_triples(dates: dict[int, str]) -> tuple[list, SyntheticArticle]:
    """Return the designations, the ministry, the provinces and the yearly ceremonies, and
    the made-up article the ceremonies cite."""
    article = SyntheticArticle(
        "upacara", "Berita rekaan: upacara penganugerahan", "Made-up news: ceremonies", YEARS[-1]
    )
    triples = []
    scheme = entity("scheme", "zona-integritas")
    top = entity("designation", "zona-integritas")  # as in graph_data/reference/
    triples += [(scheme, A, f"<{SKOS.ConceptScheme}>"), (scheme, f"<{SKOS.hasTopConcept}>", top)]
    triples += labels(scheme, "Predikat Zona Integritas", "Integrity Zone designations")
    triples += [
        (top, A, zi("Designation")),
        (top, f"<{SKOS.inScheme}>", scheme),
        (top, f"<{SKOS.topConceptOf}>", scheme),
        (top, ALT, literal("ZI", "id")),
    ]
    triples += labels(top, "Zona Integritas", "Integrity Zone")
    for slug, (indonesian, english, short) in DESIGNATIONS.items():
        designation = entity("designation", slug)
        triples += [
            (designation, A, zi("Designation")),
            (designation, f"<{SKOS.inScheme}>", scheme),
            (designation, f"<{SKOS.broader}>", top),
            (top, f"<{SKOS.narrower}>", designation),
        ]
        triples += labels(designation, indonesian, english)
        triples += [(designation, ALT, literal(short, "id"))]
    triples += [
        (entity("designation", "wbbm"), zi("prerequisite"), entity("designation", "wbk")),
        (entity("organisation", MINISTRY), A, zi("Ministry")),
        (entity("organisation", MINISTRY), ALT, literal("Kemenpan RB", "id")),
    ]
    triples += labels(
        entity("organisation", MINISTRY),
        "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi",
        "Ministry of Administrative and Bureaucratic Reform",
    )
    publisher = entity("organisation", PUBLISHER)
    triples += [(publisher, A, f"<{SCHEMA.NewsMediaOrganization}>")]
    triples += labels(publisher, "Pers Sintetis (rekaan)", "Synthetic Press (made up)")
    for slug, indonesian, english in PROVINCES:
        triples += [(entity("place", slug), A, zi("Province"))]
        triples += labels(entity("place", slug), indonesian, english)
    for year, date in dates.items():
        ceremony = entity("ceremony", f"apresiasi-penganugerahan-zi-wbk-wbbm-{year}")
        source = article.cite(f"Upacara penganugerahan Zona Integritas {year} digelar {date}.")
        triples += [
            (ceremony, A, zi("Ceremony")),
            (ceremony, f"<{SCHEMA.startDate}>", literal(date, datatype=str(XSD.date))),
            (ceremony, f"<{PROV.wasDerivedFrom}>", source),
        ]
        triples += labels(
            ceremony,
            f"Apresiasi dan Penganugerahan Zona Integritas WBK-WBBM Tahun {year}",
            f"Integrity Zone WBK-WBBM Appreciation and Award {year}",
        )
    return triples, article


def city_names(seed: int) -> list[tuple[str, str]]:
    """Return every (slug, name) of a synthetic city in the seed's order."""
    names = [
        f"{head}{tail}" + (f" {qualifier}" if qualifier else "")
        for head in NAME_HEADS
        for tail in NAME_TAILS
        for qualifier in NAME_QUALIFIERS
    ]
    random.Random(f"{seed}:cities").shuffle(names)
    return [(name.lower().replace(" ", "-"), name) for name in names]


def city_name(names: list[tuple[str, str]], index: int) -> tuple[str, str]:
    """Return the slug and name of the city at ``index``, numbering names once all are used."""
    slug, name = names[index % len(names)]
    round_ = index // len(names)
    if round_:
        return f"{slug}-{round_ + 1}", f"{name} {round_ + 1}"
    return slug, name


def city_triples(
    seed: int, index: int, slug: str, name: str, dates: dict[int, str]
) -> tuple[list[tuple[str, str, str]], SyntheticArticle]:
    """Return the triples of one city (government, agencies, pipelines, conferrals) and the
    made-up article its facts cite."""
    rng = random.Random(f"{seed}:city:{index}")
    city_slug = f"kota-{slug}"
    article = SyntheticArticle(
        city_slug,
        f"Berita rekaan: Zona Integritas di Kota {name}",
        f"Made-up news: integrity zones in {name} City",
        YEARS[-1],
    )
    place = entity("place", city_slug)
    government = entity("organisation", f"pemerintah-{city_slug}")
    ministry = entity("organisation", MINISTRY)
    province = PROVINCES[rng.randrange(len(PROVINCES))][0]
    triples = [
        (place, A, zi("City")),
        (place, f"<{SCHEMA.containedInPlace}>", entity("place", province)),
    ]
    triples += labels(place, f"Kota {name}", f"{name} City")
    triples += [
        (government, A, zi("LocalGovernment")),
        (government, ALT, literal(f"Pemkot {name}", "id")),
        (government, f"<{DCTERMS.spatial}>", place),
    ]
    triples += labels(government, f"Pemerintah Kota {name}", f"{name} City Government")

    agencies: list[tuple[str, str]] = []  # (IRI, short name)
    chosen = rng.sample(AGENCY_CATALOGUE, rng.randint(12, len(AGENCY_CATALOGUE)))
    for agency_slug, short, indonesian, english, kind in chosen:
        agency = entity("organisation", f"{agency_slug}-{city_slug}")
        agencies.append((agency, short))
        triples += [
            (agency, A, zi(kind)),
            (agency, ALT, literal(short, "id")),
            (agency, ALT, literal(f"{short} Kota {name}", "id")),
            (agency, f"<{ORG.unitOf}>", government),
        ]
        triples += labels(agency, f"{indonesian} Kota {name}", f"{name} City {english}")
    for district_slug, indonesian, english in rng.sample(DISTRICTS, rng.randint(2, len(DISTRICTS))):
        agency = entity("organisation", f"kecamatan-{slug}-{district_slug}")
        agencies.append((agency, f"Kecamatan {name} {indonesian}"))
        triples += [(agency, A, zi("Kecamatan")), (agency, f"<{ORG.unitOf}>", government)]
        triples += labels(
            agency, f"Kecamatan {name} {indonesian}", f"{english} {name} District Office"
        )

    holds_wbk: set[str] = set()
    holds_wbbm: set[str] = set()
    for year in YEARS:
        if rng.random() > 0.6:
            continue
        pipeline = entity("pipeline", f"{city_slug}-{year}")
        stages = [entity("stage", f"{city_slug}-{year}-{suffix}") for suffix, _, _ in STAGES]
        year_literal = literal(str(year), datatype=str(XSD.gYear))
        triples += [
            (pipeline, A, zi("SelectionPipeline")),
            (pipeline, zi("forYear"), year_literal),
            (pipeline, zi("proposedBy"), government),
            (pipeline, zi("proposedTo"), ministry),
            (pipeline, zi("designation"), entity("designation", "wbk")),
            (pipeline, zi("designation"), entity("designation", "wbbm")),
        ]
        triples += [(pipeline, zi("hasStage"), stage) for stage in stages]
        triples += labels(
            pipeline,
            f"Usulan WBK-WBBM Pemerintah Kota {name} Tahun {year}",
            f"{name} City Government's WBK-WBBM proposals, {year}",
        )
        candidates = [a for a in agencies if a[0] not in holds_wbbm]
        proposed = rng.sample(candidates, rng.randint(min(3, len(candidates)), len(candidates)))
        assessed = rng.sample(proposed, rng.randint(1, min(5, len(proposed))))
        designated = rng.sample(assessed, rng.randint(0, len(assessed)))
        source = article.cite(
            f"Pada tahun {year} Pemerintah Kota {name} mengusulkan {len(proposed)} unit kerja "
            f"kepada Kemenpan RB; {len(assessed)} dinilai di tingkat nasional "
            f"({', '.join(short for _, short in assessed)}) dan {len(designated)} ditetapkan."
        )
        triples += [(pipeline, f"<{PROV.wasDerivedFrom}>", source)]
        triples += [(stage, f"<{PROV.wasDerivedFrom}>", source) for stage in stages]
        for order, (stage, members, (_, indonesian, english)) in enumerate(
            zip(stages, (proposed, assessed, designated), STAGES, strict=True), start=1
        ):
            triples += [
                (stage, A, zi("SelectionStage")),
                (stage, zi("stageOrder"), integer(order)),
                (stage, zi("memberCount"), integer(len(members))),
            ]
            triples += labels(stage, indonesian, english)
            if order > 1:  # like the sources, only the later stages name their members
                triples += [(stage, zi("decidedBy"), ministry)]
                triples += [(stage, zi("namedMember"), agency) for agency, _ in members]
        for agency, short in designated:
            kind = "wbbm" if agency in holds_wbk else "wbk"
            (holds_wbbm if kind == "wbbm" else holds_wbk).add(agency)
            agency_slug = agency.rsplit("/", 1)[1].rstrip(">")
            conferral = entity("conferral", f"{kind}-{year}-{agency_slug}")
            source = article.cite(
                f"{short} Kota {name} meraih predikat {DESIGNATIONS[kind][2]} Tahun {year} "
                f"dari Kemenpan RB pada {dates[year]}."
            )
            triples += [
                (conferral, f"<{PROV.wasDerivedFrom}>", source),
                (conferral, A, zi("DesignationConferral")),
                (conferral, zi("recipient"), agency),
                (conferral, zi("designation"), entity("designation", kind)),
                (conferral, zi("assessmentYear"), year_literal),
                (conferral, zi("conferredBy"), ministry),
                (conferral, zi("conferralDate"), literal(dates[year], datatype=str(XSD.date))),
                (
                    conferral,
                    zi("ceremony"),
                    entity("ceremony", f"apresiasi-penganugerahan-zi-wbk-wbbm-{year}"),
                ),
            ]
            triples += labels(
                conferral,
                f"{DESIGNATIONS[kind][2]} Tahun {year} untuk {short} Kota {name}",
                f"{DESIGNATIONS[kind][2]} {year} for {name} City's {short}",
            )
    return triples, article


def generate(scale: int, seed: int, folder: Path, turtle: bool = False) -> dict:
    """Write ``dataset.nq`` (and ``dataset.ttl``) of at least ``scale`` triples."""
    folder.mkdir(parents=True, exist_ok=True)
    dates = ceremony_dates(seed)
    names = city_names(seed)
    path = folder / "dataset.nq"
    partial = path.with_suffix(".nq.partial")
    writer = QuadWriter(partial)
    progress = Progress(scale, enabled=scale >= 200_000 or sys.stderr.isatty())
    started = time.monotonic()
    sources = folder / "sources"
    sources.mkdir(exist_ok=True)

    def write_article(article: SyntheticArticle) -> None:
        writer.write(GRAPH_BASE + f"bench/articles/{article.slug}", article.finish())
        (sources / f"{article.slug}.txt").write_text(article.text, encoding="utf-8")

    triples, article = reference_triples(dates)
    writer.write(GRAPH_BASE + "bench/reference", triples)
    write_article(article)
    cities = 0
    first_city: list[tuple[str, str, str]] = []
    while writer.triples < scale:
        slug, name = city_name(names, cities)
        triples, article = city_triples(seed, cities, slug, name, dates)
        if cities == 0:
            first_city = triples
        writer.write(GRAPH_BASE + f"bench/kota-{slug}", triples)
        write_article(article)
        cities += 1
        progress.update(writer.triples)
    writer.close()
    progress.close()
    partial.replace(path)

    # Entities the benchmark's queries name; city 0 exists at every scale.
    recipients = sorted({o for _, p, o in first_city if p == zi("recipient")})
    units = sorted({s for s, p, _ in first_city if p == f"<{ORG.unitOf}>"})
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "scale": scale,
        "triples": writer.triples,
        "cities": cities,
        "files": {"nquads": path.name},
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "seconds": round(time.monotonic() - started, 2),
        "samples": {
            "agency": (recipients or units)[0][1:-1],
            "city_name": city_name(names, 0)[1],
        },
    }
    if turtle:
        manifest["files"]["turtle"] = write_turtle(path, folder / "dataset.ttl")
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_turtle(nquads: Path, path: Path) -> str:
    """Write the union of the named graphs as Turtle with the project's prefixes."""
    import pyoxigraph as ox

    triples = (q.triple for q in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS))
    ox.serialize(triples, output=str(path), format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    return path.name


def ensure(scale: int, seed: int, folder: Path | None = None) -> tuple[Path, dict]:
    """Return the folder and manifest of a dataset, generating it unless it is already there."""
    folder = folder or default_folder(scale, seed)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if (
            manifest.get("generator_version") == GENERATOR_VERSION
            and manifest.get("seed") == seed
            and manifest.get("scale") == scale
            and (folder / manifest["files"]["nquads"]).is_file()
        ):
            return folder, manifest
    except (OSError, ValueError, KeyError):
        pass
    return folder, generate(scale, seed, folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=parse_scale, default=parse_scale("100k"), help="triples (10k, 100k, 1M)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", type=Path, help="folder (default bench/data/zi-SCALE-seedSEED)")
    parser.add_argument("--turtle", action="store_true", help="also write dataset.ttl")
    args = parser.parse_args(argv)
    folder = args.out or default_folder(args.scale, args.seed)
    manifest = generate(args.scale, args.seed, folder, turtle=args.turtle)
    print(
        f"{folder}: {manifest['triples']:,} triples, {manifest['cities']} cities, "
        f"sha256 {manifest['sha256'][:16]}, {manifest['seconds']}s"
    )


if __name__ == "__main__":
    main()
