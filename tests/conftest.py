"""Shared test fixtures: where the project, its fixtures and the shared corpus are."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus, or a clean skip where this checkout has no shared/ beside it."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not present at {CORPUS} (tests read it only where ../shared exists)")
    return CORPUS


def corpus_files(sub: str, pattern: str = "*") -> list[Path]:
    """Corpus files for parametrize; empty where ../shared is absent (tests then skip via corpus_dir)."""
    folder = CORPUS / sub
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.name != "INDEX.md")


def extract_bundle(archive: Path, dest: Path) -> Path:
    """Unpack a fixture bundle's regular files under dest (tests only: fixtures are trusted); returns its top folder."""
    import tarfile

    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                target = dest / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    return next(dest.iterdir())
