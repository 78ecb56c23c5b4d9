"""What the validator reports: a `Problem` is a path into the document, a message and a code.

Paths read like Python subscripts on the JSON document: ``nodes[3].buttons[1].title``,
``edges[0].to``, ``start``; the empty path is the document itself.  ``code`` is one of the
`Code` values, stable for programs (the flow builder highlights by path and code); the
message is for people and may change.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import attrs

__all__ = ["Code", "NestedProblems", "Problem", "join_path", "key_path"]


class Code(enum.StrEnum):
    """The kinds of problem `pytake.flows.validate` reports."""

    #: ``format`` is missing or not a version this PyTake reads.
    UNSUPPORTED_FORMAT = "unsupported_format"
    #: A node (or ask validator) ``type`` no one declares.
    UNKNOWN_TYPE = "unknown_type"
    #: A required field is absent.
    MISSING_FIELD = "missing_field"
    #: A field holds the wrong JSON type (a number where a string belongs, ...).
    WRONG_TYPE = "wrong_type"
    #: A field the node type does not have (often a typo; the message suggests the name).
    UNKNOWN_FIELD = "unknown_field"
    #: A value of the right type but out of range or malformed (an id, a variable name ...).
    BAD_VALUE = "bad_value"
    #: Two nodes share an id.
    DUPLICATE_ID = "duplicate_id"
    #: ``start`` names no node.
    BAD_START = "bad_start"
    #: An edge leaves or enters a node that does not exist.
    DANGLING_EDGE = "dangling_edge"
    #: Two edges leave the same node on the same outcome.
    DUPLICATE_EDGE = "duplicate_edge"
    #: An edge's ``on`` is not an outcome its node can emit.
    UNKNOWN_OUTCOME = "unknown_outcome"
    #: An outcome the node can emit has no edge.
    MISSING_OUTCOME = "missing_outcome"
    #: No path of edges leads from ``start`` to the node.
    UNREACHABLE = "unreachable"
    #: A cycle of nodes none of which waits for the customer (or bounds the loop).
    UNBOUNDED_LOOP = "unbounded_loop"
    #: Beyond what WhatsApp accepts (button count, title length, list rows, text length ...).
    WHATSAPP_LIMIT = "whatsapp_limit"
    #: A regular expression that does not compile or could take exponential time.
    BAD_REGEX = "bad_regex"
    #: Broken ``{{ ... }}`` interpolation.
    BAD_TEMPLATE = "bad_template"
    #: A malformed condition.
    BAD_CONDITION = "bad_condition"
    #: A module action no installed module declares (only when modules are required).
    UNKNOWN_MODULE = "unknown_module"
    #: A team (``handoff``, ``team_open``) that does not exist (checked when publishing).
    UNKNOWN_TEAM = "unknown_team"


@attrs.frozen
class Problem:
    """One thing wrong with a flow document."""

    #: Where: ``nodes[3].buttons[1].title``; ``""`` for the document as a whole.
    path: str
    #: What, for people.
    message: str
    #: Which kind (a `Code` value), for programs.
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class NestedProblems(Exception):
    """Problems found while structuring one value, with paths relative to that value.

    Raised from cattrs hooks (conditions, ask validators) so that the validator can report
    each problem at its full path instead of one opaque error.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_path(base: str, rel: str | int) -> str:
    """``base`` extended by a field name, an index, or a relative path.

    >>> join_path("nodes[3]", "buttons[1].title"), join_path("nodes", 3), join_path("", "start")
    ('nodes[3].buttons[1].title', 'nodes[3]', 'start')
    """
    if isinstance(rel, int):
        return f"{base}[{rel}]"
    if not rel:
        return base
    if not base or rel.startswith("["):
        return base + rel
    return f"{base}.{rel}"


def key_path(base: str, key: object) -> str:
    """``base`` extended by a mapping key: ``.name`` for identifiers, ``["odd key"]`` else."""
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return join_path(base, key)
    text = f'"{key}"' if isinstance(key, str) else repr(key)
    return f"{base}[{text}]"
