"""What the pages say about terms the data does not label: the standard vocabularies we reuse.

Three small declared tables: labels of reused terms in both languages, how a property reads
when it points at the page's entity (its inverse), and the order statements are shown in.
"""

from __future__ import annotations

from service.namespaces import (
    DCAT,
    DCTERMS,
    FOAF,
    OA,
    ORG,
    OWL,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    VCARD,
    VOID,
    ZI,
)

# Labels of the reused terms the data and the pages use: IRI -> (Indonesian, English).
LABELS: dict[str, tuple[str, str]] = {
    str(k): v
    for k, v in {
        RDF.type: ("jenis", "type"),
        RDFS.label: ("label", "label"),
        RDFS.comment: ("keterangan", "comment"),
        RDFS.subClassOf: ("subkelas dari", "subclass of"),
        RDFS.seeAlso: ("lihat juga", "see also"),
        OWL.sameAs: ("sama dengan", "same as"),
        OWL.Class: ("kelas", "class"),
        OWL.ObjectProperty: ("properti objek", "object property"),
        OWL.DatatypeProperty: ("properti data", "datatype property"),
        OWL.FunctionalProperty: ("properti fungsional", "functional property"),
        OWL.AnnotationProperty: ("properti anotasi", "annotation property"),
        OWL.Ontology: ("ontologi", "ontology"),
        SKOS.prefLabel: ("nama", "name"),
        SKOS.altLabel: ("nama lain", "other name"),
        SKOS.hiddenLabel: ("ejaan lain", "other spelling"),
        SKOS.definition: ("definisi", "definition"),
        SKOS.scopeNote: ("catatan cakupan", "scope note"),
        SKOS.editorialNote: ("catatan editorial", "editorial note"),
        SKOS.notation: ("notasi", "notation"),
        SKOS.inScheme: ("dalam skema", "in scheme"),
        SKOS.broader: ("lebih luas", "broader"),
        SKOS.narrower: ("lebih sempit", "narrower"),
        SKOS.topConceptOf: ("konsep puncak dari", "top concept of"),
        SKOS.hasTopConcept: ("konsep puncak", "top concept"),
        SKOS.Concept: ("konsep", "concept"),
        SKOS.ConceptScheme: ("skema konsep", "concept scheme"),
        PROV.wasDerivedFrom: ("sumber", "source"),
        PROV.Entity: ("entitas (PROV)", "entity (PROV)"),
        OA.hasSource: ("dokumen sumber", "source document"),
        OA.hasSelector: ("penanda", "selector"),
        OA.exact: ("kutipan persis", "exact quote"),
        OA.prefix: ("teks sebelum", "text before"),
        OA.suffix: ("teks sesudah", "text after"),
        OA.start: ("posisi awal", "start offset"),
        OA.end: ("posisi akhir", "end offset"),
        OA.SpecificResource: ("sumber daya spesifik", "specific resource"),
        OA.TextQuoteSelector: ("penanda kutipan", "quote selector"),
        OA.TextPositionSelector: ("penanda posisi", "position selector"),
        SCHEMA.about: ("tentang", "about"),
        SCHEMA.superEvent: ("bagian dari acara", "part of event"),
        SCHEMA.subEvent: ("acara di dalamnya", "sub-event"),
        SCHEMA.startDate: ("tanggal mulai", "start date"),
        SCHEMA.publisher: ("penerbit", "publisher"),
        SCHEMA.dateline: ("baris tempat berita", "dateline"),
        SCHEMA.sameAs: ("sama dengan", "same as"),
        SCHEMA.locationCreated: ("tempat pembuatan", "location created"),
        SCHEMA.inLanguage: ("bahasa", "language"),
        SCHEMA.honorificSuffix: ("gelar", "honorific suffix"),
        SCHEMA.eventAttendanceMode: ("cara kehadiran", "attendance mode"),
        SCHEMA.datePublished: ("tanggal terbit", "date published"),
        SCHEMA.creditText: ("kredit", "credit"),
        SCHEMA.containedInPlace: ("terletak di", "contained in place"),
        SCHEMA.alternateName: ("nama panggilan", "alternate name"),
        SCHEMA.Person: ("orang", "person"),
        SCHEMA.Place: ("tempat", "place"),
        SCHEMA.City: ("kota", "city"),
        SCHEMA.AdministrativeArea: ("wilayah administratif", "administrative area"),
        SCHEMA.Event: ("acara", "event"),
        SCHEMA.NewsArticle: ("artikel berita", "news article"),
        SCHEMA.Organization: ("organisasi", "organisation"),
        SCHEMA.NewsMediaOrganization: ("organisasi media berita", "news media organisation"),
        SCHEMA.GovernmentOrganization: ("organisasi pemerintah", "government organisation"),
        SCHEMA.Quotation: ("kutipan langsung", "quotation"),
        SCHEMA.OnlineEventAttendanceMode: ("daring (virtual)", "online"),
        SCHEMA.OfflineEventAttendanceMode: ("luring (tatap muka)", "in person"),
        SCHEMA.MixedEventAttendanceMode: ("campuran", "mixed"),
        ORG.unitOf: ("unit dari", "unit of"),
        ORG.hasUnit: ("memiliki unit", "has unit"),
        ORG.postIn: ("jabatan di", "post in"),
        ORG.organization: ("organisasi", "organisation"),
        ORG.member: ("anggota", "member"),
        ORG.siteOf: ("lokasi milik", "site of"),
        ORG.hasSite: ("lokasi", "site"),
        ORG.Post: ("jabatan", "post"),
        ORG.Site: ("lokasi", "site"),
        ORG.Membership: ("keanggotaan", "membership"),
        ORG.OrganizationalUnit: ("unit organisasi", "organisational unit"),
        ORG.FormalOrganization: ("organisasi formal", "formal organisation"),
        ORG.Organization: ("organisasi", "organisation"),
        DCTERMS.spatial: ("wilayah", "place"),
        DCTERMS.hasFormat: ("teks", "text"),
        DCTERMS.format: ("format", "format"),
        DCTERMS.title: ("judul", "title"),
        DCTERMS.description: ("deskripsi", "description"),
        DCTERMS.license: ("lisensi", "licence"),
        DCTERMS.modified: ("diubah", "modified"),
        DCTERMS.creator: ("pembuat", "creator"),
        DCTERMS.source: ("dasar", "based on"),
        DCTERMS.hasPart: ("memuat", "contains"),
        PROV.wasAttributedTo: ("dikurasi oleh", "curated by"),
        PROV.Agent: ("pelaku (PROV)", "agent (PROV)"),
        SCHEMA.temporalCoverage: ("tanggal yang diberitakan", "date reported"),
        SCHEMA.Legislation: ("peraturan", "regulation"),
        SCHEMA.legislationIdentifier: ("nomor peraturan", "regulation number"),
        SCHEMA.legislationDate: ("tahun peraturan", "regulation year"),
        SCHEMA.legislationChanged: ("mengubah", "amends"),
        FOAF.primaryTopic: ("topik utama", "primary topic"),
        VOID.inDataset: ("dalam dataset", "in dataset"),
        DCAT.Dataset: ("dataset", "dataset"),
        # The catalogue and the VoID description (/catalog, /.well-known/void).
        DCTERMS.publisher: ("penerbit", "publisher"),
        DCTERMS.language: ("bahasa", "language"),
        DCTERMS.issued: ("diterbitkan", "issued"),
        DCTERMS.temporal: ("cakupan waktu", "temporal coverage"),
        DCTERMS.identifier: ("pengenal versi", "version identifier"),
        DCTERMS.conformsTo: ("mengikuti standar", "conforms to"),
        DCAT.dataset: ("dataset", "dataset"),
        DCAT.service: ("layanan data", "data service"),
        DCAT.distribution: ("distribusi", "distribution"),
        DCAT.contactPoint: ("narahubung", "contact point"),
        DCAT.keyword: ("kata kunci", "keyword"),
        DCAT.theme: ("tema", "theme"),
        DCAT.themeTaxonomy: ("taksonomi tema", "theme taxonomy"),
        DCAT.landingPage: ("halaman utama", "landing page"),
        DCAT.accessURL: ("URL akses", "access URL"),
        DCAT.downloadURL: ("URL unduhan", "download URL"),
        DCAT.mediaType: ("jenis media", "media type"),
        DCAT.endpointURL: ("URL titik akhir", "endpoint URL"),
        DCAT.endpointDescription: ("deskripsi titik akhir", "endpoint description"),
        DCAT.servesDataset: ("melayani dataset", "serves dataset"),
        DCAT.startDate: ("mulai", "start"),
        DCAT.endDate: ("selesai", "end"),
        FOAF.homepage: ("beranda", "home page"),
        VOID.sparqlEndpoint: ("titik akhir SPARQL", "SPARQL endpoint"),
        VOID.dataDump: ("unduhan", "data dump"),
        VOID.uriSpace: ("ruang IRI", "IRI space"),
        VOID.triples: ("pernyataan", "triples"),
        VOID.distinctSubjects: ("subjek berbeda", "distinct subjects"),
        VOID.entities: ("entitas", "entities"),
        VOID.classes: ("kelas", "classes"),
        VOID.properties: ("properti", "properties"),
        VOID.exampleResource: ("contoh", "example resource"),
        VOID.vocabulary: ("kosakata", "vocabulary"),
        VCARD.hasEmail: ("surel", "e-mail"),
        VCARD.hasURL: ("halaman web", "web page"),
        "https://creativecommons.org/licenses/by/4.0/": ("CC BY 4.0", "CC BY 4.0"),
    }.items()
}

# How a property reads from its object's page ("X received conferral Y"): IRI -> (id, en).
INVERSE_LABELS: dict[str, tuple[str, str]] = {
    str(k): v
    for k, v in {
        RDF.type: ("anggota", "instances"),
        ZI.recipient: ("menerima", "received"),
        ZI.conferredBy: ("memberikan", "conferred"),
        ZI.handedOverBy: ("menyerahkan", "handed over"),
        ZI.designation: ("predikat dalam", "designation in"),
        ZI.ceremony: ("acara penyerahan", "ceremony of"),
        ZI.speaker: ("pernyataannya", "statements made"),
        ZI.occasion: ("pernyataan pada acara ini", "statements made here"),
        ZI.namedMember: ("disebut pada tahap", "named in stage"),
        ZI.hasStage: ("tahap dari", "stage of"),
        ZI.decidedBy: ("memutuskan", "decided"),
        ZI.proposedBy: ("mengusulkan", "proposed"),
        ZI.proposedTo: ("menerima usulan", "received proposals"),
        ZI.encouragedBy: ("mendorong", "encouraged"),
        ZI.addressee: ("ditujukan kepadanya", "addressed to it"),
        ZI.attendee: ("menghadiri", "attended"),
        ZI.attendedEvent: ("kehadiran", "attendances"),
        ZI.attendedFrom: ("tempat mengikuti", "attended from here"),
        ZI.listedArea: ("disebut dalam daftar", "listed in"),
        ZI.prerequisite: ("prasyarat bagi", "prerequisite of"),
        ZI.post: ("dipegang dalam", "held in"),
        SCHEMA.about: ("dibahas dalam", "discussed in"),
        SCHEMA.publisher: ("menerbitkan", "published"),
        SCHEMA.locationCreated: ("tempat pembuatan", "place where created"),
        SCHEMA.superEvent: ("acara di dalamnya", "sub-event"),
        SCHEMA.subEvent: ("bagian dari acara", "part of event"),
        SCHEMA.containedInPlace: ("memuat", "contains"),
        PROV.wasDerivedFrom: ("sumber bagi", "source of"),
        DCTERMS.source: ("dasar bagi", "basis of"),
        DCTERMS.hasPart: ("bagian dari", "part of"),
        PROV.wasAttributedTo: ("mengurasi", "curated"),
        SCHEMA.legislationChanged: ("diubah oleh", "amended by"),
        OA.hasSource: ("petikan", "passages"),
        ORG.member: ("memegang jabatan", "posts held"),
        ORG.organization: ("jabatan di sini", "posts here"),
        ORG.unitOf: ("memiliki unit", "has unit"),
        ORG.postIn: ("memiliki jabatan", "has post"),
        ORG.siteOf: ("lokasi", "site"),
        DCTERMS.spatial: ("berlaku di sini", "applies here"),
        SKOS.inScheme: ("konsep dalam skema", "concepts in scheme"),
        SKOS.broader: ("lebih sempit", "narrower"),
        SKOS.narrower: ("lebih luas", "broader"),
        SKOS.topConceptOf: ("konsep puncak", "top concept"),
        OWL.sameAs: ("sama dengan", "same as"),
    }.items()
}

# Statements in this order; properties not listed come between FIRST and LAST, by label.
FIRST = tuple(
    str(p)
    for p in (
        SKOS.prefLabel,
        SKOS.altLabel,
        SCHEMA.alternateName,
        SKOS.definition,
        ZI.recipient,
        ZI.designation,
        ZI.assessmentYear,
        ZI.conferredBy,
        ZI.handedOverBy,
        ZI.conferralDate,
        ZI.ceremony,
        ZI.reason,
        ORG.member,
        ZI.post,
        ORG.organization,
        ZI.heldOn,
        ZI.speaker,
        ZI.occasion,
        SCHEMA.about,
        ZI.stageOrder,
        ZI.memberCount,
        ZI.claimedCount,
        ZI.namedMember,
        ZI.decidedBy,
        ZI.forYear,
        ZI.proposedBy,
        ZI.proposedTo,
        ZI.hasStage,
        ORG.unitOf,
        ORG.postIn,
        DCTERMS.spatial,
        SCHEMA.startDate,
        SCHEMA.eventAttendanceMode,
        SCHEMA.superEvent,
        SCHEMA.subEvent,
    )
)
LAST = tuple(
    str(p)
    for p in (
        SKOS.scopeNote,
        SKOS.editorialNote,
        SKOS.hiddenLabel,
        OWL.sameAs,
        RDF.type,
        PROV.wasDerivedFrom,
    )
)


def label(iri: str, lang: str) -> str | None:
    """Return a reused term's label in ``lang`` (id or en), or None when it is not declared."""
    pair = LABELS.get(iri)
    return None if pair is None else pair[1 if lang == "en" else 0]


def inverse_label(iri: str, lang: str) -> str | None:
    """Return how a property reads from its object's page, or None when it is not declared."""
    pair = INVERSE_LABELS.get(iri)
    return None if pair is None else pair[1 if lang == "en" else 0]


def display_rank(iri: str) -> tuple[int, int]:
    """Return a property's place in the display order: declared first, then others, then last."""
    if iri in FIRST:
        return (0, FIRST.index(iri))
    if iri in LAST:
        return (2, LAST.index(iri))
    return (1, 0)


# Properties that state the same link from the other end: a page shows such a link once, from
# the entity's own statement, not again among what links to it. Both directions are listed.
INVERSES: dict[str, str] = {
    str(a): str(b)
    for pair in (
        (SCHEMA.superEvent, SCHEMA.subEvent),
        (ORG.unitOf, ORG.hasUnit),
        (ORG.siteOf, ORG.hasSite),
        (SKOS.broader, SKOS.narrower),
        (SKOS.topConceptOf, SKOS.hasTopConcept),
        (OWL.sameAs, OWL.sameAs),
    )
    for a, b in (pair, pair[::-1])
}

# The classes a reader looks for first, in this order, at the top of the home page's list.
READER_CLASSES = tuple(
    str(c)
    for c in (
        ZI.DesignationConferral,
        ZI.PublicOrganisation,
        SCHEMA.Person,
        ZI.Ceremony,
        ZI.SelectionPipeline,
        ZI.SelectionStage,
        ZI.Statement,
        ZI.Target,
        SCHEMA.NewsArticle,
        ZI.Passage,
    )
)
# Classes of the data's machinery (where a quote sits, who curated reference data): listed
# apart, behind a disclosure, for the engineer.
TECHNICAL_NAMESPACES = (str(OA), str(PROV), str(SKOS), str(DCAT), str(VOID))
TECHNICAL_CLASSES = tuple(str(c) for c in (ZI.ReferenceData, ZI.AttestedFact))


def inverse_of(iri: str) -> str | None:
    """Return the property stating the same link from the other end, or None."""
    return INVERSES.get(iri)


def is_technical_class(iri: str) -> bool:
    """Return whether a class belongs to the data's machinery rather than to its subject."""
    return iri in TECHNICAL_CLASSES or iri.startswith(TECHNICAL_NAMESPACES)


def class_rank(iri: str) -> int:
    """Return a class's place among those a reader looks for first, else after them all."""
    return READER_CLASSES.index(iri) if iri in READER_CLASSES else len(READER_CLASSES)
