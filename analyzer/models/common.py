"""Shared building blocks of every stage: evidence, parse results, findings.

A parser never raises on content: it returns ``Parsed(value, status, problems)``.
Every number that can reach a report carries an ``Evidence`` (bundle-relative
file, 1-based line) so a reader can check it against the bundle.
"""
# No ``from __future__ import annotations`` here: pydantic evaluates every field annotation when the
# class is made, and string annotations are compiled first (3 ms of start-up, with analyzer/models/report.py).

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__


def built(cls: type[M], fields_set: set[str], values: dict) -> M:
    """An instance of ``cls`` holding ``values`` as they are: what ``cls.model_construct(fields_set,
    **values)`` builds when every field is given, without its Python work (defaults, aliases, extra:
    three times the cost), and sharing one ``fields_set`` (216 bytes an instance otherwise). Only for
    values the caller made itself, of the right types: nothing is validated. tests/test_tarstream.py
    checks the result is the same model as pydantic's.

    >>> e = built(Evidence, EVIDENCE_FIELDS, {"file": "dmesg.txt", "line": 3})
    >>> e == Evidence(file="dmesg.txt", line=3), e.cite()
    (True, 'dmesg.txt:3')
    """
    instance = _new(cls)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", fields_set)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def new_list() -> list:
    """``Field(default_factory=new_list)``: a new empty list, as ``list`` gives one.

    pydantic reads a factory's signature when it makes the class (does it take the validated
    data?). For the builtin ``list`` or ``dict`` that is a parse of its text signature, and the first
    one compiles the tokenizer's pattern: 5 ms of every start-up for the ~25 such fields of the
    models, where a Python function's signature is read off its code.

    >>> new_list(), new_list() is new_list()
    ([], False)
    """
    return []


def new_dict() -> dict:
    """``Field(default_factory=new_dict)``: a new empty dict (see ``new_list``)."""
    return {}


ParseStatus = Literal["complete", "partial", "unrecognised"]
Severity = Literal["info", "warning", "critical"]


class Evidence(BaseModel):
    """Where a value came from: a bundle-relative path and a 1-based line (None: whole file).

    >>> Evidence(file="dmesg.txt", line=12).cite()
    'dmesg.txt:12'
    """

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None = None

    def cite(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    @classmethod
    def at(cls, file: str, line: int | None) -> "Evidence":
        """An Evidence of a path and line the reader counted itself (no validation: 300 bytes, not 516;
        the cgroup tree makes one per cited counter, 10,000 in a 500-pod node's containers table)."""
        return built(cls, EVIDENCE_FIELDS, {"file": file, "line": line})


EVIDENCE_FIELDS = {"file", "line"}


class Problem(BaseModel):
    """Something a parser could not read, with where it was."""

    message: str
    evidence: Evidence | None = None


class Parsed(BaseModel, Generic[T]):
    """The result of one parser on one file.

    >>> p = Parsed[int](value=3, status="complete")
    >>> p.ok
    True
    """

    value: T | None = None
    status: ParseStatus = "complete"
    problems: list[Problem] = Field(default_factory=new_list)

    @property
    def ok(self) -> bool:
        return self.value is not None and self.status != "unrecognised"


class Finding(BaseModel):
    """A conclusion a rule drew, in plain words, with the evidence it rests on.

    ``code`` is a stable identifier listed in docs/report-schema.md.
    """

    code: str
    severity: Severity
    message: str
    evidence: list[Evidence] = []
