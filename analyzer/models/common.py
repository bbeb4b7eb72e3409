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
    problems: list[Problem] = Field(default_factory=list)

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
