"""The RDF terms a store answers with, and how code that knows a term's kind reads its value."""

from __future__ import annotations

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
