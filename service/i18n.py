"""Interface strings in Indonesian (the default) and English, and the reader's language."""

from __future__ import annotations

from flask import Flask, Response, g, request

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
COOKIE = "zigraph_lang"

# Every interface string: key -> (Indonesian, English). Placeholders use str.format names.
STRINGS: dict[str, tuple[str, str]] = {
    "site_name": ("zigraph", "zigraph"),
    "site_tagline": (
        "Graf pengetahuan Zona Integritas (WBK/WBBM)",
        "Knowledge graph of Zona Integritas (WBK/WBBM)",
    ),
    "skip_to_content": ("Lompat ke isi", "Skip to content"),
    "nav_label": ("Navigasi utama", "Main navigation"),
    "nav_home": ("Beranda", "Home"),
    "nav_browse": ("Jelajahi", "Browse"),
    "nav_search": ("Cari", "Search"),
    "nav_query": ("Kueri SPARQL", "SPARQL query"),
    "nav_ontology": ("Ontologi", "Ontology"),
    "nav_shapes": ("Shapes", "Shapes"),
    "nav_validation": ("Validasi", "Validation"),
    "nav_download": ("Unduh", "Download"),
    "switch_language": ("English", "Bahasa Indonesia"),
    "switch_language_title": ("Switch to English", "Ganti ke Bahasa Indonesia"),
    "search_placeholder": ("Cari nama atau singkatan…", "Search names or acronyms…"),
    "search_label": ("Kata kunci", "Search terms"),
    "search_button": ("Cari", "Search"),
    "footer_source": (
        "Data diturunkan dari satu berita Garudacitizen (21 Desember 2020); "
        "setiap fakta menunjuk kutipan sumbernya.",
        "Data derived from one Garudacitizen news article (21 December 2020); "
        "every fact points to the passage it comes from.",
    ),
    "footer_licence": ("Lisensi kode: Apache-2.0", "Code licence: Apache-2.0"),
    # home
    "home_title": ("Graf pengetahuan Zona Integritas", "Zona Integritas knowledge graph"),
    "home_intro": (
        "zigraph adalah data tertaut tentang predikat Zona Integritas: Wilayah Bebas dari "
        "Korupsi (WBK) dan Wilayah Birokrasi Bersih dan Melayani (WBBM) yang diberikan oleh "
        "Kementerian PANRB kepada unit kerja pemerintah.",
        "zigraph is linked data about Indonesia's Zona Integritas (integrity zone) "
        "designations: Corruption-Free Area (WBK) and Clean and Serving Bureaucracy Area "
        "(WBBM), conferred by the Ministry of Administrative and Bureaucratic Reform on "
        "government units.",
    ),
    "home_source": (
        "Sumber: satu berita berbahasa Indonesia. Setiap fakta dapat ditelusuri ke kutipan "
        "aslinya.",
        "Source: one Indonesian news article. Every fact can be traced to the passage it "
        "was read from.",
    ),
    "home_recipient": ("Penerima", "Recipient"),
    "home_conferred_by": ("Diberikan oleh", "Conferred by"),
    "home_counts": ("Isi dataset", "What the dataset holds"),
    "home_class": ("Kelas", "Class"),
    "home_instances": ("Jumlah", "Count"),
    "home_glance": ("Penetapan {year} sekilas", "The {year} designations at a glance"),
    "home_glance_none": ("Belum ada penetapan dalam data.", "No designations in the data yet."),
    "home_entry": ("Mulai dari sini", "Where to start"),
    "home_entry_browse": ("Jelajahi menurut kelas", "Browse by class"),
    "home_entry_search": ("Cari nama atau singkatan", "Search names and acronyms"),
    "home_entry_query": ("Tulis kueri SPARQL", "Write a SPARQL query"),
    "home_entry_ontology": ("Baca ontologi", "Read the ontology"),
    "home_entry_shapes": ("Lihat aturan SHACL", "See the SHACL rules"),
    "home_entry_validation": ("Laporan validasi", "Validation report"),
    "home_downloads": ("Unduh seluruh dataset", "Download the whole dataset"),
    "home_endpoint": ("Titik akhir SPARQL", "SPARQL endpoint"),
    # entity
    "entity_iri": ("IRI", "IRI"),
    "entity_types": ("Jenis", "Types"),
    "entity_also_known": ("Juga dikenal sebagai", "Also known as"),
    "entity_statements": ("Pernyataan", "Statements"),
    "entity_property": ("Properti", "Property"),
    "entity_value": ("Nilai", "Value"),
    "entity_no_statements": ("Tidak ada pernyataan.", "No statements."),
    "entity_incoming": ("Ditautkan dari", "Linked from"),
    "entity_incoming_none": ("Tidak ada tautan masuk.", "No incoming links."),
    "entity_more_values": ("Nilai lainnya", "More values"),
    "entity_values_page": (
        "Menampilkan nilai {first}–{last} dari {total}",
        "Showing values {first}–{last} of {total}",
    ),
    "entity_provenance": ("Asal-usul", "Provenance"),
    "entity_provenance_intro": (
        "Kutipan sumber yang mendukung fakta di halaman ini.",
        "The source passages that support the facts on this page.",
    ),
    "entity_provenance_none": (
        "Tidak ada kutipan sumber untuk node ini.",
        "No source passage for this node.",
    ),
    "entity_fact": ("Fakta", "Fact"),
    "entity_source": ("Sumber", "Source"),
    "entity_characters": ("karakter {start}–{end}", "characters {start}–{end}"),
    "entity_source_text": ("Teks sumber", "Source text"),
    "entity_source_text_intro": (
        "Bagian yang dikutip oleh data ditandai.",
        "The passages quoted by the data are highlighted.",
    ),
    "entity_downloads": ("Unduh data node ini", "Download this node's data"),
    "entity_conforms": ("Sesuai dengan shapes SHACL", "Conforms to the SHACL shapes"),
    "entity_violates": (
        "Melanggar {n} aturan SHACL",
        "Breaks {n} SHACL rules",
    ),
    "entity_not_checked": ("Tidak diperiksa", "Not checked"),
    "entity_definition": ("Definisi", "Definition"),
    "external_link": ("tautan luar", "external link"),
    "language_tag": ("bahasa", "language"),
    "datatype": ("tipe data", "datatype"),
    "blank_node": ("node kosong", "blank node"),
    # pictures
    "funnel_title": ("Alur seleksi", "Selection pipeline"),
    "funnel_desc": (
        "Diagram corong: {stages}.",
        "Funnel chart: {stages}.",
    ),
    "funnel_stage": ("Tahap", "Stage"),
    "funnel_count": ("Jumlah", "Count"),
    "funnel_members": ("Yang disebut", "Named"),
    "table_fallback": ("Data diagram sebagai tabel", "The chart's data as a table"),
    "neighbourhood_title": ("Lingkungan node", "Neighbourhood"),
    "neighbourhood_desc": (
        "{label} terhubung ke {n} node: {names}.",
        "{label} is linked to {n} nodes: {names}.",
    ),
    "neighbourhood_direction": ("Arah", "Direction"),
    "neighbourhood_out": ("keluar", "outgoing"),
    "neighbourhood_in": ("masuk", "incoming"),
    "neighbourhood_node": ("Node", "Node"),
    "timeline_title": ("Linimasa predikat", "Designation timeline"),
    "timeline_desc": (
        "Predikat yang diterima {label}: {items}.",
        "Designations of {label}: {items}.",
    ),
    "timeline_year": ("Tahun", "Year"),
    "timeline_date": ("Tanggal", "Date"),
    "timeline_designation": ("Predikat", "Designation"),
    # browse / search
    "browse_title": ("Jelajahi menurut kelas", "Browse by class"),
    "class_title": ("Anggota kelas {label}", "Instances of {label}"),
    "class_docs": ("Dokumentasi kelas di ontologi", "Class documentation in the ontology"),
    "class_empty": ("Kelas ini belum punya anggota.", "This class has no instances yet."),
    "sort_by_label": ("Urutkan menurut label", "Sort by label"),
    "sort_asc": ("A → Z", "A → Z"),
    "sort_desc": ("Z → A", "Z → A"),
    "page_of": ("Halaman {page} dari {pages}", "Page {page} of {pages}"),
    "page_previous": ("Sebelumnya", "Previous"),
    "page_next": ("Berikutnya", "Next"),
    "pagination": ("Navigasi halaman", "Pagination"),
    "search_title": ("Cari", "Search"),
    "search_results": (
        "{n} hasil untuk “{q}”",
        "{n} results for “{q}”",
    ),
    "search_none": (
        "Tidak ada yang cocok dengan “{q}”. Coba singkatan (mis. DPMPTSP) atau sebagian nama.",
        "Nothing matches “{q}”. Try an acronym (e.g. DPMPTSP) or part of a name.",
    ),
    "search_hint": (
        "Cari label dalam bahasa Indonesia atau Inggris, termasuk singkatan.",
        "Search labels in Indonesian or English, acronyms included.",
    ),
    "label": ("Label", "Label"),
    "matched": ("Cocok dengan", "Matched"),
    # not found
    "not_found_title": ("Tidak ditemukan", "Not found"),
    "not_found_text": (
        "Tidak ada data tentang {what}. Mungkin IRI-nya salah ketik, atau datanya belum ada.",
        "There is no data about {what}. The IRI may be mistyped, or the data is not there yet.",
    ),
    "not_found_try": ("Coba cari, atau mulai dari:", "Try a search, or start from:"),
    # ontology / shapes / validation
    "ontology_title": ("Ontologi zigraph", "The zigraph ontology"),
    "ontology_classes": ("Kelas", "Classes"),
    "ontology_properties": ("Properti", "Properties"),
    "ontology_term_iri": ("IRI", "IRI"),
    "ontology_label_id": ("Label (id)", "Label (id)"),
    "ontology_label_en": ("Label (en)", "Label (en)"),
    "ontology_definition_id": ("Definisi (id)", "Definition (id)"),
    "ontology_definition_en": ("Definisi (en)", "Definition (en)"),
    "ontology_subclass_of": ("Subkelas dari", "Subclass of"),
    "ontology_subproperty_of": ("Subproperti dari", "Subproperty of"),
    "ontology_equivalent": ("Setara dengan", "Equivalent to"),
    "ontology_domain": ("Domain", "Domain"),
    "ontology_range": ("Jangkauan", "Range"),
    "ontology_instances": ("Jumlah anggota", "Instances"),
    "ontology_shapes": ("Shapes yang berlaku", "Shapes that apply"),
    "ontology_kind": ("Jenis", "Kind"),
    "ontology_empty": ("Ontologi belum dimuat.", "The ontology is not loaded yet."),
    "ontology_download": ("Unduh ontologi", "Download the ontology"),
    "shapes_title": ("Aturan SHACL", "SHACL shapes"),
    "shapes_intro": (
        "Aturan yang diperiksa pada data. Setiap aturan punya pesan dalam dua bahasa.",
        "The rules the data is checked against. Every rule has a message in both languages.",
    ),
    "shapes_target": ("Sasaran", "Target"),
    "shapes_path": ("Jalur", "Path"),
    "shapes_constraints": ("Batasan", "Constraints"),
    "shapes_message": ("Pesan", "Message"),
    "shapes_empty": ("Belum ada shapes.", "No shapes yet."),
    "shapes_download": ("Unduh shapes", "Download the shapes"),
    "validation_title": ("Laporan validasi", "Validation report"),
    "validation_conforms": (
        "Data sesuai dengan semua aturan SHACL ({n} triple diperiksa).",
        "The data conforms to every SHACL rule ({n} triples checked).",
    ),
    "validation_violations": (
        "Data melanggar aturan: {n} hasil.",
        "The data breaks rules: {n} results.",
    ),
    "validation_focus": ("Node", "Node"),
    "validation_path": ("Jalur", "Path"),
    "validation_value": ("Nilai", "Value"),
    "validation_severity": ("Tingkat", "Severity"),
    "validation_shape": ("Aturan", "Rule"),
    "validation_message": ("Pesan", "Message"),
    "severity_Violation": ("Pelanggaran", "Violation"),
    "severity_Warning": ("Peringatan", "Warning"),
    "severity_Info": ("Info", "Info"),
    "validation_formats": ("Laporan sebagai data", "The report as data"),
    "validation_of_files": (
        "Yang divalidasi: berkas data yang dikirim bersama zigraph, yang dilayani di sini.",
        "Validated: the data files shipped with zigraph, which are served here.",
    ),
    "validation_of_store": (
        "Yang divalidasi: data yang dilayani oleh store {store}, dibaca kembali darinya.",
        "Validated: the data served by the store {store}, read back from it.",
    ),
    # query
    "query_title": ("Kueri SPARQL", "SPARQL query"),
    "query_intro": (
        "Tulis kueri SPARQL 1.1 (SELECT, ASK, CONSTRUCT, DESCRIBE). Graf bawaan adalah "
        "gabungan semua graf bernama.",
        "Write a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE). The default graph is the "
        "union of all named graphs.",
    ),
    "query_label": ("Kueri", "Query"),
    "query_run": ("Jalankan", "Run"),
    "query_shortcut": ("Ctrl+Enter menjalankan kueri.", "Ctrl+Enter runs the query."),
    "query_examples": ("Contoh kueri", "Example queries"),
    "query_examples_none": ("Belum ada contoh kueri.", "No example queries yet."),
    "query_expected": ("Hasil yang diharapkan: {text}", "Expected: {text}"),
    "query_results": ("Hasil", "Results"),
    "query_rows": ("{n} baris", "{n} rows"),
    "query_triples": ("{n} triple", "{n} triples"),
    "query_truncated": (
        "Hasil dipotong pada batas {n}.",
        "The result was cut at the limit of {n}.",
    ),
    "query_rows_hidden": (
        "{n} baris lainnya tidak ditampilkan; unduh hasil lengkapnya di bawah.",
        "{n} more rows are not shown; download the full result below.",
    ),
    "query_yes": ("Ya (true)", "Yes (true)"),
    "query_no": ("Tidak (false)", "No (false)"),
    "query_error": ("Kueri tidak dapat dijalankan", "The query could not be run"),
    "query_error_syntax": ("Kesalahan sintaks", "Syntax error"),
    "query_error_refused": ("Kueri ditolak", "Query refused"),
    "query_error_timeout": ("Waktu habis", "Timed out"),
    "query_error_backend": ("Penyimpanan tidak tersedia", "Store unavailable"),
    "query_download": ("Unduh hasil sebagai", "Download the result as"),
    "query_empty": ("Tidak ada baris.", "No rows."),
}


def get_language() -> str:
    """Return the reader's language: ``?lang=``, then the cookie, then Accept-Language."""
    if "zigraph_lang" in g:
        return g.zigraph_lang
    chosen = request.args.get("lang", "")
    if chosen not in LANGUAGES:
        chosen = request.cookies.get(COOKIE, "")
    if chosen not in LANGUAGES:
        chosen = request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    g.zigraph_lang = chosen
    return chosen


def severity(name: str) -> str:
    """Return a SHACL severity (Violation, Warning, Info) in the reader's language."""
    key = f"severity_{name}"
    return translate(key) if key in STRINGS else name


def translate(key: str, **values: object) -> str:
    """Return the interface string ``key`` in the reader's language, filled with ``values``."""
    pair = STRINGS[key]
    text = pair[LANGUAGES.index(get_language())]
    return text.format(**values) if values else text


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax")
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    """Offer ``t()`` and ``lang`` to templates and remember a chosen language in a cookie."""
    app.jinja_env.globals.update(t=translate, get_language=get_language, severity=severity)
    app.after_request(_remember_language)
