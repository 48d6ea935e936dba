"""Which triples a query's patterns can match: ``ParsedQuery.reach``, worked out from the groups
the parser reads.

The remote backend sends a query on a store's union of graphs, without naming zigraph's
graphs, when the query cannot match a triple of the store's other graphs (the record ``zigraph
push`` writes, a store's own graphs): see ``service.store.remote.Holdings``. A reach is a set of
(subject, predicate, object) shapes, each term an IRI the pattern names there, "" for any term,
or :data:`FROM_DATA` as a subject: a term of a triple another pattern matched, which the
store's other graphs never hold as a subject when ``Holdings.apart``.

A variable stands for the IRIs a VALUES or a BIND of its group (or of a group joined with it)
binds it to, or for FROM_DATA once a pattern that can only match zigraph's triples binds it;
otherwise for any term. Bindings pass into the groups joined with a pattern (a group, a UNION's
branches, GRAPH, FILTER EXISTS) and back out of them, never into or out of OPTIONAL, MINUS, a
subquery or the EXISTS of a BIND, whose solutions a binding elsewhere does not restrict. The
tests that keep this sound are in tests/test_queryparser.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from itertools import product
from math import prod
from typing import NamedTuple

Shape = tuple[str, str, str]
Reach = frozenset[Shape] | None

FROM_DATA = "\x00"  # never an IRI: its characters exclude controls
ANY_TRIPLE = ("", "", "")
# Shapes the bindings of one pattern may turn it into; past them its variables stand for any term.
MAX_SHAPES = 4096
# Steps of working out one query's reach (a group's patterns and children looked at, a shape
# made); past them the query is taken to reach any triple. A client's query is any text.
MAX_STEPS = 200_000


class _TooMuch(Exception):
    """The reach took more than MAX_STEPS to work out."""


class _Steps:
    """The steps left for working out one reach."""

    def __init__(self) -> None:
        self.left = MAX_STEPS

    def take(self, count: int = 1) -> None:
        self.left -= count
        if self.left < 0:
            raise _TooMuch()


class Variable(str):
    """A variable's name in a pattern's shape, told apart from an IRI."""


class Pattern(NamedTuple):
    """A triple pattern or path: the shapes of the triples it matches, and the variables it
    binds to terms of those triples: a path's ends (none for a path that may be empty), or
    for a triple pattern (None) the variables of its shape."""

    shapes: list[Shape]
    binds: tuple[str, ...] | None = None

    def bound(self) -> tuple[str, ...]:
        """Return the variables the pattern binds."""
        if self.binds is not None:
            return self.binds
        return tuple(term for term in self.shapes[0] if isinstance(term, Variable))


@dataclass(slots=True)
class Group:
    """A group of graph patterns as the parser reads it.

    :param kind: how it meets its parent: "join" (a group, a UNION branch, GRAPH), "exists"
        (FILTER EXISTS, given the parent's bindings, giving none), "apart" (OPTIONAL, MINUS,
        LATERAL, a subquery: neither given nor giving bindings).
    """

    kind: str = "join"
    patterns: list[Pattern] = field(default_factory=list)
    values: dict[str, frozenset[str] | None] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)  # BIND(<iri> AS ?v)
    children: list[Group | list[Group]] = field(default_factory=list)  # a list: UNION branches

    def bind_values(self, values: dict[str, frozenset[str] | None]) -> None:
        """Note a VALUES block of the group; a variable bound by two is left to any term."""
        for name, iris in values.items():
            self.values[name] = iris if name not in self.values else None


def resolve(root: Group) -> Reach:
    """Return the reach of a query whose patterns are ``root``'s; None when it can match any
    triple, or would take more than MAX_STEPS to work out."""
    shapes: set[Shape] = set()
    steps = _Steps()
    try:
        for shape in _shapes(root, {}, steps):
            steps.take()
            if shape == ANY_TRIPLE:
                return None
            shapes.add(shape)
    except _TooMuch:
        return None
    return frozenset(shapes)


@dataclass(frozen=True)
class Binding:
    """What a variable stands for: IRIs or FROM_DATA, and the patterns this follows from (by
    ``id``), whose own shapes it never stands in: a pattern cannot vouch for itself."""

    terms: frozenset[str]
    support: frozenset[int] = frozenset()


Bindings = dict[str, Binding]


def _bindings(group: Group, given: Bindings, steps: _Steps) -> Bindings:
    """Return what the variables of ``group`` stand for, given its parent's bindings."""
    steps.take(len(given))
    bound = {} if group.kind == "apart" else dict(given)
    bound.update((name, Binding(iris)) for name, iris in group.values.items() if iris is not None)
    bound.update((name, Binding(frozenset({iri}))) for name, iri in group.constants.items())
    grounded: set[int] = set()
    changed = True
    while changed:  # each round binds through the patterns the last one grounded
        changed = False
        steps.take(1 + len(group.patterns) + len(group.children))
        for index, pattern in enumerate(group.patterns):
            if index in grounded:
                continue
            usable = _usable(pattern, bound)
            if not _grounded(pattern, usable):
                continue
            grounded.add(index)
            support = frozenset({id(pattern)}).union(*(b.support for b in usable.values()))
            for name in pattern.bound():
                if name not in bound:
                    bound[name] = Binding(frozenset({FROM_DATA}), support)
                    changed = True
        for child in group.children:
            for name, binding in _given_back(child, bound, steps).items():
                if name not in bound:
                    bound[name] = binding
                    changed = True
    return bound


def _usable(pattern: Pattern, bound: Bindings) -> Bindings:
    """Return the bindings of the pattern's variables that do not follow from the pattern."""
    own = id(pattern)
    return {
        term: bound[term]
        for shape in pattern.shapes
        for term in shape
        if isinstance(term, Variable) and term in bound and own not in bound[term].support
    }


def _given_back(child: Group | list[Group], bound: Bindings, steps: _Steps) -> Bindings:
    """Return the bindings a joined group (or a UNION of groups) gives its parent."""
    branches = child if isinstance(child, list) else [child]
    if any(branch.kind != "join" for branch in branches):
        return {}
    found = [_bindings(branch, bound, steps) for branch in branches]
    common = set(found[0]).intersection(*found[1:]).difference(bound)
    steps.take(len(common) * len(found))
    return {
        name: Binding(
            frozenset().union(*(each[name].terms for each in found)),
            frozenset().union(*(each[name].support for each in found)),
        )
        for name in common
    }


def _grounded(pattern: Pattern, usable: Bindings) -> bool:
    """Return whether every triple the pattern matches is told apart by a term its shape
    names: an IRI, or FROM_DATA as the subject."""
    return all(
        any(_told(place, term, usable) for place, term in enumerate(shape))
        for shape in pattern.shapes
    )


def _told(place: int, term: str, usable: Bindings) -> bool:
    if not isinstance(term, Variable):
        return bool(term)
    binding = usable.get(term)
    return binding is not None and all(t != FROM_DATA or place == 0 for t in binding.terms)


def _shapes(group: Group, given: Bindings, steps: _Steps) -> Iterator[Shape]:
    """Yield the shapes of the group's patterns and those of its children."""
    bound = _bindings(group, given, steps)
    for pattern in group.patterns:
        usable = _usable(pattern, bound)
        for shape in pattern.shapes:
            places: list[Collection[str]] = [
                _stands_for(place, term, usable) for place, term in enumerate(shape)
            ]
            if prod(len(terms) for terms in places) > MAX_SHAPES:
                places = [("",) if isinstance(term, Variable) else (term,) for term in shape]
            yield from product(*places)
    for child in group.children:
        for branch in child if isinstance(child, list) else [child]:
            yield from _shapes(branch, bound, steps)


def _stands_for(place: int, term: str, usable: Bindings) -> Collection[str]:
    if not isinstance(term, Variable):
        return (term,)
    binding = usable.get(term)
    if binding is None:
        return ("",)
    return {t if t != FROM_DATA or place == 0 else "" for t in binding.terms}
