"""Pydantic models: the contract between the reader, the parsers, the rules and the renderers."""
from analyzer.models.common import Evidence, Finding, Parsed, ParseStatus, Problem, Severity

__all__ = ["Evidence", "Finding", "Parsed", "ParseStatus", "Problem", "Severity"]
