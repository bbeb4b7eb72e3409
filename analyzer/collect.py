"""``podmortem collect``: run the node collector shipped with the package.

The collector is one POSIX-shell script (collectors/node/podmortem-collect); the package ships
the same file as data (analyzer/collector/podmortem-collect) so an installed podmortem can run
it without a checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from analyzer.errors import PodmortemError

REPO_SCRIPT = Path(__file__).resolve().parent.parent / "collectors" / "node" / "podmortem-collect"


def collector_script_path() -> Path:
    """The collector script: the packaged copy, else the repository's."""
    packaged = resources.files("analyzer").joinpath("collector/podmortem-collect")
    try:
        with resources.as_file(packaged) as path:
            if Path(path).is_file():
                return Path(path)
    except (FileNotFoundError, OSError):
        pass
    if REPO_SCRIPT.is_file():
        return REPO_SCRIPT
    raise PodmortemError("the node collector script is not installed with this podmortem")


def run_collector(args: list[str]) -> int:
    """Run the collector with ``sh`` and return its exit status (its output goes to ours)."""
    shell = shutil.which("sh") or "/bin/sh"
    if not os.path.exists(shell):
        raise PodmortemError("no POSIX shell (sh) on this machine to run the collector")
    return subprocess.call([shell, str(collector_script_path()), *args])
