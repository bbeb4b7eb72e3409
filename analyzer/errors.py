"""The package's exceptions. Only ``analyzer.cli`` turns them into exit codes."""


class PodmortemError(Exception):
    """Base of every error podmortem reports to a user as one line."""


class InputUnreadable(PodmortemError):
    """The input path does not exist, is not readable, or holds nothing podmortem can open."""
