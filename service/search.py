"""Search the nodes' labels and the passages' text: typos and Indonesian affixes allowed.

The index is a tantivy index with one document per label (skos:prefLabel, altLabel,
hiddenLabel, notation, rdfs:label, dct:title) and one per passage (its quote's ``oa:exact``).
Each text is indexed three ways: its words, their stems (the Sastrawi stemmer: ``perpustakaan``
and ``pustaka``), and, for a label, the whole label as one term. A query asks for every one of
its words, each found as a word, a prefix, a stem or within an edit distance (tantivy's
Levenshtein automata over the term dictionary); what matched is then read again here, with
the same rules, to rank the hits (exact label, label words, similar label, passage) and to
say why each was found. A built store keeps its index in ``INDEX_FOLDER`` beside it
(``docs/libraries.md`` says why these libraries, ``bench/search.py`` measures them).
"""

from __future__ import annotations

import base64
import functools
import io
import os
import re
import shutil
import tarfile
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import tantivy
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from service.namespaces import DCTERMS, OA, RDFS, SKOS
from service.terms import Term

INDEX_FOLDER = "zigraph-search"
LABEL = "label"
PASSAGE = "passage"
LABEL_PROPERTIES = (
    SKOS.prefLabel,
    SKOS.altLabel,
    SKOS.hiddenLabel,
    SKOS.notation,
    RDFS.label,
    DCTERMS.title,
)
# Every text to index: (node, text, LABEL or PASSAGE). A passage is found by its quote.
ENTRIES_QUERY = f"""SELECT DISTINCT ?node ?text ?kind WHERE {{
  {{ VALUES ?property {{ {" ".join(f"<{p}>" for p in LABEL_PROPERTIES)} }}
    ?node ?property ?text BIND("{LABEL}" AS ?kind) }}
  UNION {{ ?node <{OA.hasSelector}>/<{OA.exact}> ?text BIND("{PASSAGE}" AS ?kind) }}
  FILTER(isIRI(?node) && isLiteral(?text))
}}"""
MAX_WORDS = 8  # a query's words that count; the rest are ignored
MAX_WORD = 40  # characters of a word that count
MAX_WHOLE = 1000  # characters of a label indexed whole (tantivy takes terms to 65,530 bytes)
CANDIDATES = 100  # texts read from the index for one query, best first: four pages
SNIPPET = 160  # characters of a passage shown around the first word that matched
WRITER_HEAP = 64_000_000  # bytes tantivy's writer holds before it writes a segment

# The ranks of a hit, best first; the templates name them (search_why_<rank>).
EXACT, WORDS, SIMILAR, QUOTED = "exact", "words", "similar", "quoted"
RANKS = (EXACT, WORDS, SIMILAR, QUOTED)
# How a word of the query met a word of the text, best first.
SAME, PREFIX, STEM, TYPO = 0, 1, 2, 3


def fold(text: str) -> str:
    """Return a text with its accents removed and its case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.lru_cache(maxsize=100_000)
def fold_word(word: str) -> str:
    """Return a word folded, remembered: the texts of hits are read again at every query."""
    return fold(word)


def words(text: str) -> list[str]:
    """Return the words of a text, folded: ``21/12/2020`` is three."""
    return re.findall(r"\w+", fold(text))


@functools.cache
def _stemmer():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Return a word's stem, Indonesian affixes removed (``penghargaan``: ``harga``)."""
    if not word.isalpha():
        return word  # numbers and codes (2020, x2) are not Indonesian words
    return _stemmer().stem(word) or word


def typos_allowed(word: str) -> int:
    """Return the edits a query word may be away from a word it finds."""
    if len(word) <= 3 or not word.isalpha():
        return 0  # KKN, 21: three letters one edit apart are another word
    return 1 if len(word) <= 7 else 2


def schema() -> tantivy.Schema:
    """Return the index's fields: what is stored to show a hit, and what is searched."""
    builder = tantivy.SchemaBuilder()
    for stored in ("node", "text", "kind"):
        builder.add_bytes_field(stored, stored=True)
    for kind in (LABEL, PASSAGE):
        builder.add_text_field(f"{kind}_words", tokenizer_name="whitespace")
        builder.add_text_field(f"{kind}_stems", tokenizer_name="whitespace")
    builder.add_text_field("label_whole", tokenizer_name="raw", index_option="basic")
    return builder.build()


def document(node: str, text: str, kind: str) -> tantivy.Document:
    """Return the index's document of one label or passage of a node."""
    found = words(text)
    doc = tantivy.Document()
    doc.add_bytes("node", node.encode())
    doc.add_bytes("text", text.encode())
    doc.add_bytes("kind", kind.encode())
    doc.add_text(f"{kind}_words", " ".join(found))
    doc.add_text(f"{kind}_stems", " ".join(stem(w) for w in found))
    if kind == LABEL and len(text) <= MAX_WHOLE:
        doc.add_text("label_whole", " ".join(found))
    return doc


def entries_of(rows: Iterable[Sequence[Term | None]]) -> list[tuple[str, str, str]]:
    """Return the (node, text, kind) of the solutions of ENTRIES_QUERY, each once.

    A text in two languages ("WBK"@id, "WBK"@en) is one entry.
    """
    found = {
        (node.value, text.value, kind.value)
        for node, text, kind in rows
        if isinstance(node, ox.NamedNode)
        and isinstance(text, ox.Literal)
        and isinstance(kind, ox.Literal)
    }
    return sorted(found)


def build(entries: Iterable[tuple[str, str, str]], folder: Path | None = None) -> SearchIndex:
    """Index (node, text, kind) entries, in ``folder`` (replaced whole) or in memory."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    index = tantivy.Index(schema(), path=str(folder) if folder is not None else None)
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for node, text, kind in entries:
        writer.add_document(document(node, text, kind))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return SearchIndex(index)


def build_from_store(store: ox.Store, folder: Path) -> SearchIndex:
    """Index the labels and passages of a pyoxigraph store into ``folder``."""
    solutions = store.query(ENTRIES_QUERY, use_default_graph_as_union=True)
    if not isinstance(solutions, ox.QuerySolutions):
        raise TypeError("a SELECT query gave no solutions")
    return build(entries_of([s[v] for v in ("node", "text", "kind")] for s in solutions), folder)


def open_index(folder: Path) -> SearchIndex | None:
    """Return the index saved in ``folder``, or None when there is none."""
    if not (folder / "meta.json").is_file():
        return None
    try:
        return SearchIndex(tantivy.Index.open(str(folder)))
    except ValueError:  # written by another version of tantivy, or cut short
        return None


def pack(folder: Path) -> str:
    """Return a saved index as text: its files in a gzipped tar, in base64.

    ``zigraph push`` writes it into the record, so that a web process over a remote store
    opens the index of its version instead of reading every label of the store (5.5 MB of
    archive at a million triples).
    """
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for file in sorted(folder.iterdir()):
            if file.is_file():
                tar.add(file, arcname=file.name)
    return base64.b64encode(archive.getvalue()).decode("ascii")


def unpack(text: str, folder: Path) -> SearchIndex | None:
    """Open the index ``pack`` made, unpacked into ``folder`` once (by rename, whole).

    Web processes share the folder: the first to need it unpacks it; None when the text is
    not an index this version of tantivy opens.
    """
    index = open_index(folder)
    if index is not None:
        return index
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(text)), mode="r:gz") as tar:
            tar.extractall(partial, filter="data")  # plain files inside ``partial`` only
        if open_index(partial) is None:
            return None
        try:
            os.rename(partial, folder)
        except OSError:  # another process unpacked it first: its copy is the same
            pass
    except (ValueError, tarfile.TarError, OSError):
        return None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return open_index(folder)


@dataclass
class Match:
    """A hit's text and how it met the query: its rank, and its words marked."""

    node: str
    text: str
    rank: str
    score: float  # the index's: BM25 of the forms that matched, weighted
    closeness: float  # a label's likeness to the whole query, 0 to 100 (a passage: 0)
    pieces: list[tuple[str, bool]]  # the text (a passage: a stretch of it), marked where it matched
    similar: list[str]  # the text's words found by stem or typo, not as written


def meeting(wanted: str, word: str) -> int | None:
    """Return how a query word meets a word of a text (SAME … TYPO), or None."""
    if word == wanted:
        return SAME
    if len(wanted) >= 3 and word.startswith(wanted):
        return PREFIX
    if stem(word) == stem(wanted):
        return STEM
    allowed = typos_allowed(wanted)
    if allowed and OSA.distance(wanted, word, score_cutoff=allowed) <= allowed:
        return TYPO
    return None


def explain(node: str, text: str, kind: str, wanted: list[str], score: float) -> Match | None:
    """Return how a text matches the query words, or None when one of them is not in it."""
    spans = [(m.start(), m.end(), fold_word(m.group())) for m in re.finditer(r"\w+", text)]
    marked: dict[int, int] = {}  # a word of the text that met a query word: how it met it
    rank = WORDS
    for query_word in wanted:
        met: dict[int, int] = {}
        for i, (_, _, word) in enumerate(spans):
            how = meeting(query_word, word)
            if how is not None:
                met[i] = how
        if not met:
            return None
        for i, how in met.items():
            marked[i] = min(marked.get(i, TYPO), how)
        if min(met.values()) > PREFIX:
            rank = SIMILAR
    if kind == PASSAGE:
        rank = QUOTED
    elif [word for _, _, word in spans] == wanted:
        rank = EXACT
    first, last = 0, len(text)
    if kind == PASSAGE and len(text) > SNIPPET:
        first = max(0, spans[min(marked)][0] - SNIPPET // 3)
        last = min(len(text), first + SNIPPET)
    pieces: list[tuple[str, bool]] = [("…", False)] if first else []
    cursor = first
    for i, (start, end, _) in enumerate(spans):
        if i in marked and first <= start and end <= last:
            pieces += [(text[cursor:start], False), (text[start:end], True)]
            cursor = end
    pieces.append((text[cursor:last], False))
    if last < len(text):
        pieces.append(("…", False))
    similar = [text[spans[i][0] : spans[i][1]] for i, how in sorted(marked.items()) if how >= STEM]
    closeness = 0.0 if kind == PASSAGE else fuzz.ratio(" ".join(wanted), " ".join(words(text)))
    return Match(node, text, rank, score, closeness, [p for p in pieces if p[0]], similar)


def order(match: Match) -> tuple:
    """Return the key that sorts matches best first: rank, likeness, score."""
    return (RANKS.index(match.rank), -match.closeness, -match.score, match.node)


@dataclass
class Found:
    """The nodes a query found, best first, and whether the index holds more matches."""

    matches: list[Match]
    more: bool  # the index gave CANDIDATES texts: a narrower query may find others


class SearchIndex:
    """An opened index: search it for a query's words and rank what it finds."""

    def __init__(self, index: tantivy.Index) -> None:
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()

    def documents(self) -> int:
        """Return how many labels and passages the index holds."""
        return self.searcher.num_docs

    def query_of(self, wanted: list[str]) -> tantivy.Query:
        """Return the index query: the whole label, or every word in some form."""
        schema, boost = self.schema, tantivy.Query.boost_query

        def term(field: str, value: str) -> tantivy.Query:
            return tantivy.Query.term_query(schema, field, value)

        def fuzzy(field: str, value: str, distance: int, prefix: bool = False) -> tantivy.Query:
            return tantivy.Query.fuzzy_term_query(schema, field, value, distance, True, prefix)

        clauses = []
        for word in wanted:
            forms = [
                boost(term("label_words", word), 4.0),
                boost(term("label_stems", stem(word)), 2.0),
                boost(term("passage_words", word), 1.0),
                boost(term("passage_stems", stem(word)), 0.5),
            ]
            if len(word) >= 3:
                forms.append(boost(fuzzy("label_words", word, 0, prefix=True), 2.0))
            if typos_allowed(word):
                forms.append(fuzzy("label_words", word, typos_allowed(word)))
                forms.append(boost(fuzzy("passage_words", word, typos_allowed(word)), 0.3))
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.boolean_query([(tantivy.Occur.Should, form) for form in forms]),
                )
            )
        whole = boost(term("label_whole", " ".join(wanted)), 20.0)
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, whole),
                (tantivy.Occur.Should, tantivy.Query.boolean_query(clauses)),
            ]
        )

    def search(self, query: str) -> Found:
        """Return the nodes that match the query, best first, one match (the best) each."""
        wanted = [word[:MAX_WORD] for word in words(query)[:MAX_WORDS]]
        if not wanted:
            return Found([], False)
        found = self.searcher.search(self.query_of(wanted), CANDIDATES, count=False)
        best: dict[str, Match] = {}
        for score, address in found.hits:
            doc = self.searcher.doc(address)
            node, text, kind = (bytes(doc[field][0]).decode() for field in ("node", "text", "kind"))
            match = explain(node, text, kind, wanted, score)
            if match is None:
                continue
            if node not in best or order(match) < order(best[node]):
                best[node] = match
        return Found(sorted(best.values(), key=order), len(found.hits) == CANDIDATES)
