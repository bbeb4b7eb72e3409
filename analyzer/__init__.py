"""podmortem analyzer: read a node bundle, parse every artifact, explain memory incidents."""

__version__ = "0.1.0"
