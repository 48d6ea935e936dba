"""The query parser: what it accepts, what it refuses, and the canonical text it writes."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from service import resources
from service.errors import QueryRefused, QuerySyntaxError, UpdateRefused
from service.namespaces import ID_BASE
from service.pages.document import describe_query
from service.queryparser import parse_query, resolve_iri, tokenize
from service.reach import FROM_DATA

EX = "PREFIX ex: <http://example.org/> "

# Valid queries that the old lexer refused (issue 15): each must be read, and its canonical
# text must be read by Oxigraph too.
VALID = {
    "grouped-path-after-iri-subject": EX + "SELECT * WHERE { ex:a (ex:p/ex:p)? ?t }",
    "grouped-path-star": EX + "SELECT * WHERE { ex:a (ex:p1/ex:p2)* ?x }",
    "collection-as-object": EX + "SELECT * WHERE { ?x ex:p ( ?z ) }",
    "owl-union-of": (
        "PREFIX owl: <http://www.w3.org/2002/07/owl#> SELECT * WHERE { ?c owl:unionOf ( ?a ?b ) }"
    ),
    "base-direction": 'SELECT ("foo"@en--ltr AS ?x) WHERE {}',
    "escape-for-a-backslash": 'SELECT ("a\\u005Cb" AS ?x) WHERE {}',
    "escape-for-a-quote": 'SELECT ("a\\u0022b" AS ?x) WHERE {}',
    "triple-term": EX + "SELECT * WHERE { ?r ex:p <<( ex:s ex:p ex:o )>> }",
    "reified-triple-with-annotation": EX + "SELECT * WHERE { ex:s ex:p ex:o {| ex:q ?v |} }",
    "version": 'VERSION "1.2" SELECT * WHERE {}',
    "lateral": "SELECT * WHERE { ?s ?p ?o LATERAL { SELECT ?x WHERE { ?s ?p ?x } LIMIT 1 } }",
    "exists-in-bind": "SELECT ?e WHERE { BIND(EXISTS { ?s ?p ?o } AS ?e) }",
    "xsd-cast": (
        'PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT (xsd:integer("7") AS ?n) WHERE {}'
    ),
    "group-concat": 'SELECT (GROUP_CONCAT(DISTINCT ?o ; SEPARATOR = ", ") AS ?all) { ?s ?p ?o }',
    "negated-property-set": EX + "SELECT * WHERE { ?s !(ex:p|^ex:q) ?o }",
    "values-two-variables": "SELECT * WHERE { VALUES (?a ?b) { (1 UNDEF) (2 3) } }",
    "less-than-without-spaces": "SELECT * WHERE { ?s ?p ?o FILTER(?o<3) }",
    "keyword-in-lower-case": "select distinct ?s where { ?s a ?t } order by desc(?s) limit 1",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_query_is_read_and_its_canonical_text_is_sparql(name):
    parsed = parse_query(VALID[name])
    ox.Store().query(parsed.text)  # raises SyntaxError if Oxigraph cannot read it


def test_canonical_text_has_no_comment_declaration_or_escape():
    parsed = parse_query(
        "PREFIX ex: <http://example.org/> # a comment\r\n"
        "BASE <http://example.org/base/>\n"
        'SELECT ?s WHERE { ?s ex:p "a\\tb\\u0041", <rel> } # another'
    )
    assert parsed.text == (
        "BASE <http://example.org/base/> SELECT ?s WHERE { ?s <http://example.org/p> "
        '"a\\tbA" , <http://example.org/base/rel> }'
    )


def test_the_canonical_text_of_a_string_uses_only_the_standard_escapes():
    parsed = parse_query("SELECT ('''line\none \"quoted\" \\u0001''' AS ?x) WHERE {}")
    assert '"line\\none \\"quoted\\" \\u0001"' in parsed.text
    (row,) = ox.Store().query(parsed.text)
    assert row["x"].value == 'line\none "quoted" \x01'


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "SELECT * WHERE { { SELECT ?s WHERE { SERVICE ?e { ?s ?p ?o } } } }",
        "SELECT * WHERE { FILTER EXISTS { SERVICE <http://x/> { } } }",
    ],
)
def test_service_clause_is_refused(query):
    with pytest.raises(QueryRefused) as refused:
        parse_query(query)
    assert refused.value.details["reason"] == "service"


def test_service_keyword_glued_to_a_prefixed_name_is_a_name_not_a_service_clause():
    # Oxigraph's own parser reads "SERVICEe:x" as SERVICE e:x; this one reads the name.
    with pytest.raises(QuerySyntaxError):
        parse_query("PREFIX e: <http://127.0.0.1:9/> SELECT * WHERE { SERVICEe:x { ?s ?p ?o } }")
    parsed = parse_query(
        "PREFIX SERVICEe: <http://example.org/> SELECT * WHERE { SERVICEe:x ?p ?o }"
    )
    assert "SERVICE" not in parsed.text.upper().replace("HTTP://EXAMPLE.ORG/X", "")


@pytest.mark.parametrize(
    "query",
    [
        'SELECT (bif:http_get("http://127.0.0.1:9/") AS ?page) WHERE {}',
        'PREFIX bif: <bif:> SELECT (bif:http_get("http://127.0.0.1:9/") AS ?page) WHERE {}',
        'SELECT (<http://127.0.0.1:9/f>("x") AS ?x) WHERE {}',
        "PREFIX e: <http://example.org/> SELECT * WHERE { FILTER(e:f(?x)) }",
        "PREFIX e: <http://example.org/> SELECT (e:agg(DISTINCT ?x) AS ?y) WHERE { ?s ?p ?x }",
    ],
)
def test_extension_function_is_refused(query):
    with pytest.raises((QueryRefused, QuerySyntaxError)) as refused:
        parse_query(query)
    if isinstance(refused.value, QueryRefused):
        assert refused.value.details["reason"] == "function"


def test_a_comment_ended_by_a_carriage_return_hides_nothing():
    # A PREFIX line after "\r" is inside the comment for a reader that ends comments at "\n"
    # only, and live here (SPARQL ends a comment at either): the canonical text has neither.
    query = (
        "PREFIX bif: <http://www.w3.org/2001/XMLSchema#> # \rPREFIX bif: <bif:>\n"
        'SELECT (bif:http_get("http://127.0.0.1:9/") AS ?x) WHERE {}'
    )
    with pytest.raises(QueryRefused):
        parse_query(query)


@pytest.mark.parametrize(
    "query",
    [
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "LOAD <http://127.0.0.1:9/>",
        "PREFIX ex: <http://example.org/> DELETE WHERE { ?s ?p ?o }",
    ],
)
def test_update_is_refused(query):
    with pytest.raises(UpdateRefused):
        parse_query(query)


def test_store_pragma_is_refused():
    with pytest.raises(QueryRefused):
        parse_query('DEFINE get:soft "replace" SELECT * FROM <http://127.0.0.1:9/> WHERE {}')


@pytest.mark.parametrize(
    ("query", "line", "column"),
    [
        ('SELECT * WHERE { ?s ?p "open }', 1, 24),
        ('SELECT * WHERE {\n  ?s ?p "\\q" }', 2, 9),
        ("SELECT * WHERE { ?s ?p ?o ?x }", 1, 27),
        ("SELECT * WHERE { ?s ?p ?o ", 1, 27),
    ],
)
def test_syntax_error_names_its_line_and_column(query, line, column):
    with pytest.raises(QuerySyntaxError) as error:
        parse_query(query)
    assert (error.value.details["line"], error.value.details["column"]) == (line, column)


def test_undeclared_prefix_names_the_prefix_line_to_add():
    with pytest.raises(QuerySyntaxError) as error:
        parse_query("SELECT * WHERE { ?s skos:prefLabel ?o }")
    assert "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>" in error.value.message


def test_nesting_deeper_than_the_limit_is_refused():
    with pytest.raises(QueryRefused) as refused:
        parse_query("SELECT * WHERE { FILTER(" + "(" * 100 + "1" + ")" * 100 + ") }")
    assert refused.value.details["reason"] == "too-deep"


def test_a_bad_token_stops_the_reading_there():
    # The lexer reads lazily: nothing after the first error is read (no retry, no scan).
    tokens = tokenize('SELECT * { ?s ?p "x" }')
    assert [t.kind for t in tokens][-1] == "eof"
    with pytest.raises(QuerySyntaxError) as error:
        parse_query('SELECT * { FILTER("' + '\\"' * 50_000 + "\\q")
    assert error.value.details["column"] == 19


def test_a_local_name_ends_before_its_dots_unless_one_is_escaped():
    ex = "PREFIX e: <http://example.org/> SELECT * WHERE { ?s ?p e:a\\. . ?s ?p e:b"
    parsed = parse_query(ex + ". }")
    assert "<http://example.org/a.>" in parsed.text and "<http://example.org/b>" in parsed.text
    with pytest.raises(QuerySyntaxError):  # the dots after e:b are read as '.' tokens
        parse_query(ex + "." * 1000 + " }")


def test_form_graphs_booleans_and_order_are_collected():
    parsed = parse_query(
        "PREFIX ex: <http://example.org/> SELECT ?s (EXISTS { ?s ?p ?o } AS ?e) "
        "(?x > 1 AS ?big) (?x + 1 AS ?next) FROM ex:g FROM NAMED ex:n "
        "WHERE { ?s ex:x ?x BIND(!BOUND(?y) AS ?no) } ORDER BY DESC(?s) ?x LIMIT 5 OFFSET 2"
    )
    assert parsed.form == "SELECT"
    assert parsed.from_graphs == ("http://example.org/g",)
    assert parsed.from_named_graphs == ("http://example.org/n",)
    assert parsed.boolean_variables == {"e", "big", "no"}
    assert [(k.variable, k.descending) for k in parsed.order_keys] == [("s", True), ("x", False)]
    assert (parsed.limit, parsed.offset) == (5, 2)
    assert "ORDER BY" not in parsed.unordered and "LIMIT" not in parsed.unordered


@pytest.mark.parametrize(
    ("reference", "resolved"),
    [
        ("g", "http://a/b/c/g"),
        ("../g", "http://a/b/g"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("../../../g", "http://a/g"),
        ("", "http://a/b/c/d;p?q"),
        ("urn:x", "urn:x"),
    ],
)
def test_relative_iris_resolve_by_rfc_3986(reference, resolved):
    assert resolve_iri(reference, "http://a/b/c/d;p?q") == resolved


@pytest.mark.parametrize("path", sorted(resources.folder("queries").glob("*.rq")))
def test_canonical_text_of_each_example_query_gives_the_same_answer(store_dir, path):
    store = ox.Store.read_only(str(store_dir))
    text = path.read_text(encoding="utf-8")

    def answer(query: str) -> list:
        return sorted(
            tuple(str(term) for term in row)
            for row in store.query(query, use_default_graph_as_union=True)
        )

    assert answer(parse_query(text).text) == answer(text)


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


EXP = "http://example.org/"


@pytest.mark.parametrize(
    ("query", "reach"),
    [
        (  # ?c is a term of a triple of the first pattern: the second's subject is one too
            EX + "SELECT ?d (COUNT(?c) AS ?n) { ?c a ex:C ; ex:d ?d } GROUP BY ?d",
            {("", RDF_TYPE, EXP + "C"), (FROM_DATA, EXP + "d", "")},
        ),
        (EX + "SELECT * { ?s a ?class }", {("", RDF_TYPE, "")}),
        (EX + "SELECT * { ?s ^a ex:C }", {("", RDF_TYPE, "")}),  # the class is the subject
        (EX + "SELECT * { ?s a+ ex:C }", {("", RDF_TYPE, "")}),  # ?s a ?x . ?x a ex:C
        (
            EX + "SELECT * { ?s ex:p/^ex:q+ ?o }",
            {("", EXP + "p", ""), ("", EXP + "q", "")},
        ),
        (EX + "CONSTRUCT { ?s ?p ?o } WHERE { ?s ex:p ?o }", {("", EXP + "p", "")}),
        (
            EX + "SELECT * { { SELECT ?s { ?s ex:r ?o } } FILTER EXISTS { ?s ex:q 1 } }",
            {("", EXP + "r", ""), ("", EXP + "q", "")},
        ),
        ("SELECT * { VALUES ?x { 1 } }", set()),
        (EX + "SELECT * { ex:s ?p ?o }", {(EXP + "s", "", "")}),  # an entity's description
        (EX + "SELECT * { ?s ?p ex:o }", {("", "", EXP + "o")}),
        (
            EX + 'SELECT * { ex:s ex:p "x", ex:o ; ?p [ ex:q ?v ] }',
            {
                (EXP + "s", EXP + "p", ""),
                (EXP + "s", EXP + "p", EXP + "o"),
                (EXP + "s", "", ""),
                ("", EXP + "q", ""),
            },
        ),
        (EX + "SELECT ?g { GRAPH ?g { ex:s ?p ?o } }", {(EXP + "s", "", "")}),
        (  # a VALUES of the pattern's own group, before or after it
            EX + "SELECT * { ?x ?p ?o VALUES ?x { ex:a ex:b } }",
            {(EXP + "a", "", ""), (EXP + "b", "", "")},
        ),
        (
            EX + "SELECT * { VALUES (?x ?p) { (ex:a ex:p) (ex:b ex:q) } ?x ?p ?o }",
            {(EXP + x, EXP + p, "") for x in "ab" for p in "pq"},
        ),
        (EX + "SELECT * { VALUES ?x { } ?x ?p ?o }", set()),  # no solution
        (EX + "SELECT * { VALUES ?x { ex:a UNDEF } ?x ?p ?o }", None),
        (EX + 'SELECT * { VALUES ?x { ex:a "a" } ?x ?p ?o }', None),
        (EX + "SELECT * { VALUES ?x { ex:a } { ?x ?p ?o } }", {(EXP + "a", "", "")}),
        (EX + "SELECT * { VALUES ?x { ex:a } OPTIONAL { ?x ?p ?o } }", None),
        (EX + "SELECT * { ?x ?p ?o } VALUES ?x { ex:a }", None),
        (  # a term of a triple the first pattern matches, then of one the second matches
            EX + "SELECT * { ex:a ex:p ?x . ?x ?q ?y . ?y ?r ?z }",
            {(EXP + "a", EXP + "p", ""), (FROM_DATA, "", "")},
        ),
        (  # bound in every branch: by BIND, by a pattern
            EX + "SELECT * { { BIND(ex:a AS ?s) } UNION { ex:a ex:p ?s } ?s ?p ?o }",
            {(EXP + "a", EXP + "p", ""), (EXP + "a", "", ""), (FROM_DATA, "", "")},
        ),
        (  # ?s a subject of a triple of ex:p
            EX + "SELECT * { { BIND(ex:a AS ?s) } UNION { ?s ex:p ?o } ?s ?p ?o }",
            {(EXP + "a", "", ""), ("", EXP + "p", ""), (FROM_DATA, "", "")},
        ),
        (EX + "SELECT * { { ex:a ex:p ?s } UNION { } ?s ?p ?o }", None),
        (EX + "SELECT * { ?s ?p ?o . ?o ?q ?s }", None),  # neither vouches for the other
        (EX + "SELECT * { ?s ?p ?o FILTER EXISTS { ?s ex:p ?x } }", None),
        (  # a BIND's EXISTS may be evaluated before VALUES binds ?s
            EX + "SELECT * { BIND(EXISTS { ?s ?p ?o } AS ?e) VALUES ?s { ex:a } }",
            None,
        ),
        (
            EX + "SELECT * { VALUES ?s { ex:a } FILTER(ISIRI(?s) || EXISTS { ?s ?p ?o }) }",
            {(EXP + "a", "", "")},
        ),
        (
            EX + "SELECT * { ex:a ex:p ?s FILTER EXISTS { ?s ?q ?x } }",
            {(EXP + "a", EXP + "p", ""), (FROM_DATA, "", "")},
        ),
        (
            EX + "SELECT * { ?s ex:p/ex:q ?o . ?o ?r ?v }",
            {("", EXP + "p", ""), ("", EXP + "q", ""), (FROM_DATA, "", "")},
        ),
        (EX + "SELECT * { ?c ex:p* ex:C . ?c ?q ?v }", None),  # ?c may be ex:C, in no triple
        (  # of length zero, ex:C is matched when a triple names it
            EX + "SELECT * { ?c ex:p* ex:C }",
            {("", EXP + "p", ""), (EXP + "C", "", ""), ("", EXP + "C", ""), ("", "", EXP + "C")},
        ),
        (EX + "SELECT * { ?s ?p ?o }", None),
        (EX + "SELECT * { ?s ex:p* ?o }", None),  # a path of length zero matches every node
        (EX + "SELECT * { ?s ex:p? ?o }", None),
        (EX + "SELECT * { ?s !ex:p ?o }", None),
        (EX + "SELECT * { ?s ex:p ( 1 2 ) }", None),
        (EX + "SELECT * { ?s ex:p [ ?q ?o ] }", None),
        (EX + "ASK { FILTER NOT EXISTS { ?s ?p ?o } }", None),
        (EX + "SELECT ?g { GRAPH ?g { } }", None),  # lists graphs without matching a triple
        (EX + "SELECT ?g { GRAPH ?g { OPTIONAL { ex:s ex:p ?o } } }", None),
        (EX + "SELECT ?g { GRAPH ?g { { ex:s ex:p ?o } } }", None),
        (EX + "CONSTRUCT WHERE { ?s ?p ?o }", None),
        (EX + "DESCRIBE ex:s", None),
        (EX + "SELECT * WHERE { ex:s ex:p ex:o {| ex:q ?v |} }", None),
    ],
)
def test_reach_names_the_triples_a_query_can_match(query, reach):
    parsed = parse_query(query)
    assert parsed.reach == (None if reach is None else frozenset(reach))


EXAMPLES = sorted(resources.folder("queries").glob("*.rq"))


def matches(shape: tuple[str, str, str], triple: tuple[str, str, str], data: set[str]) -> bool:
    """Return whether a triple has the shape; FROM_DATA is a term of the ``data``."""
    return all(
        not wanted or wanted == term or (wanted == FROM_DATA and term in data)
        for wanted, term in zip(shape, triple, strict=True)
    )


ENTITY = ID_BASE + "organisation/dpmptsp-kota-pekalongan"


@pytest.mark.parametrize(
    "text",
    [*VALID.values()]
    + [example.read_text(encoding="utf-8") for example in EXAMPLES]
    + [EX + "SELECT (COUNT(*) AS ?n) { ?s ex:p ?o }", EX + "SELECT ?x { ?x ex:p* ?x }"]
    + [EX + "SELECT ?s { ?s a+ ex:C }", EX + "SELECT ?s ?x { ?s a ?k . ?k a+ ?x }"]
    + [EX + "SELECT ?p ?o { ex:n ?p ?o }", EX + "SELECT ?s ?p { ?s ?p ex:n }"]
    + [EX + "SELECT ?g ?p { GRAPH ?g { ex:n ?p ?o } }", EX + "SELECT ?g { GRAPH ?g { ?s a ?c } }"]
    + [EX + "SELECT ?p ?q ?v { ex:n ?p [ ex:label ?v ] ; ex:label ?q }"]
    + [EX + "SELECT ?g { GRAPH ?g { OPTIONAL { ex:n ex:p ?o } } }"]
    + [EX + "SELECT ?x ?p ?o { VALUES ?x { ex:n } ?x ?p ?o }"]
    + [EX + "SELECT ?x ?p ?o { VALUES ?x { ex:n UNDEF } ?x ?p ?o }"]
    + [EX + "SELECT * { ?x ?p ?o VALUES (?x ?p) { (ex:n ex:label) (ex:m ex:other) } }"]
    + [EX + "SELECT ?x (COUNT(*) AS ?c) { VALUES ?x { ex:n } { ?x ?p ?o } } GROUP BY ?x"]
    + [EX + "SELECT * { ?s ?p ?o . ?o ?q ?s }", EX + "SELECT * { ?s ?p ?o . ?s ex:label ?v }"]
    + [EX + "SELECT * { ?c ex:label* ex:n . ?c ?q ?v }", EX + "SELECT * { ex:n ex:label ?s }"]
    + [EX + "SELECT * { { BIND(ex:n AS ?s) } UNION { ex:m ex:label ?s } ?s ?p ?o }"]
    + [EX + "SELECT * { OPTIONAL { ?x ex:label ?o } VALUES ?x { ex:n } }"]
    + [EX + "SELECT * { BIND(EXISTS { ?s ex:label ?o } AS ?e) VALUES ?s { ex:n } }"]
    + [EX + "SELECT * { VALUES ?s { ex:n } FILTER(EXISTS { ?s ex:label ?o }) }"]
    + [describe_query(ENTITY), f"SELECT * {{ <{ENTITY}> ?p ?x . ?x ?q ?y . ?y ?r ?z }}"],
)
def test_triples_out_of_a_query_s_reach_do_not_change_its_answer(store_dir, text):
    # The remote backend sends a query without naming zigraph's graphs (Virtuoso without its
    # exclusion pragmas, the Oxigraph server on its union default graph) when it cannot reach
    # the triples of the store's other graphs: triples, in another graph, of every shape the
    # query cannot match, about every IRI it names, must leave its answer as it was.
    parsed = parse_query(text)
    if parsed.reach is None:
        return
    shipped = ox.Store.read_only(str(store_dir))
    store = ox.Store()
    store.extend(shipped.quads_for_pattern(None, None, None, None))
    terms = {t.value for q in shipped for t in (q.subject, q.predicate, q.object)}
    predicates = {quad.predicate.value for quad in shipped} | {EXP + "other", EXP + "label"}
    typed = shipped.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), None)
    classes = {q.object.value for q in typed if isinstance(q.object, ox.NamedNode)}
    classes.add(EXP + "Other")

    def answer() -> list:
        result = store.query(parsed.text, use_default_graph_as_union=True)
        if isinstance(result, ox.QueryBoolean):
            return [bool(result)]
        if isinstance(result, ox.QueryTriples):
            return sorted(str(triple) for triple in result)
        return sorted(tuple(str(term) for term in row) for row in result)

    # A class of the query's own has an instance that is a class: a type added elsewhere can
    # then chain to it (?s a+ ex:C).
    kind = ox.NamedNode(EXP + "k")
    for _, predicate, named in parsed.reach:
        if predicate == RDF_TYPE and named:
            data = ox.NamedNode(EXP + "data")
            store.add(ox.Quad(kind, ox.NamedNode(RDF_TYPE), ox.NamedNode(named), data))
            classes.add(kind.value)
    before = answer()
    other = ox.NamedNode(EXP + "other-graph")
    nodes = sorted(parsed.iris | {EXP + "n", EXP + "m"})
    added = []
    for subject in nodes:
        for predicate in sorted(predicates | parsed.iris):
            for object_ in [*nodes, *sorted(classes), None]:
                triple = (subject, predicate, object_ or "")
                if any(matches(shape, triple, terms) for shape in parsed.reach):
                    continue
                value = ox.Literal("1") if object_ is None else ox.NamedNode(object_)
                added.append(ox.Quad(ox.NamedNode(subject), ox.NamedNode(predicate), value, other))
    store.extend(added)
    assert len(store) > len(shipped)
    assert answer() == before


def test_a_reach_too_long_to_work_out_is_any_triple():
    # A client's query is any text: groups that each bind what the next needs take rounds of
    # the whole query each. Past service.reach.MAX_STEPS the query is taken to reach anything
    # (sent on zigraph's graphs), not worked out for as long as it takes.
    chain = " ".join(f"{{ ?v{i} ex:p ?v{i + 1} }}" for i in range(300))
    parsed = parse_query(EX + f"SELECT * {{ ex:a ex:p ?v0 {chain} }}")
    assert parsed.reach is None
    short = " ".join(f"{{ ?v{i} ex:p ?v{i + 1} }}" for i in range(5))
    assert parse_query(EX + f"SELECT * {{ ex:a ex:p ?v0 {short} }}").reach == {
        (EXP + "a", EXP + "p", ""),
        (FROM_DATA, EXP + "p", ""),
    }
