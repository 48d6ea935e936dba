"""The RDF terms a store answers with, and how code that knows a term's kind reads its value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import pyoxigraph as ox

# What a solution binds a variable to, or a triple holds as its object (a triple term too).
Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def term_value(term: Term | None) -> str:
    """Return the value of an IRI, a blank node or a literal: the kind the query assures.

    Raise TypeError for an unbound variable or a triple term, which have no value.
    """
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term.value
    raise TypeError(f"expected an IRI, a blank node or a literal, not {term!r}")


def literal(term: Term | None) -> ox.Literal:
    """Return ``term`` as a literal, the kind the query assures, or raise TypeError."""
    if isinstance(term, ox.Literal):
        return term
    raise TypeError(f"expected a literal, not {term!r}")


def as_triple(row: Sequence[Term | None]) -> ox.Triple:
    """Return the triple of a solution's subject, predicate and object, or raise TypeError."""
    subject, predicate, object_ = row
    if (
        isinstance(subject, ox.NamedNode | ox.BlankNode | ox.Triple)
        and isinstance(predicate, ox.NamedNode)
        and object_ is not None
    ):
        return ox.Triple(subject, predicate, object_)
    raise TypeError(f"not a triple: {subject} {predicate} {object_}")


def bound(term: Term | None) -> Term:
    """Return the term of a variable the query always binds, or raise TypeError if unbound."""
    if term is None:
        raise TypeError("a variable the query always binds is unbound")
    return term
