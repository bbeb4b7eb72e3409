"""Fuzz the decompressor child's header records (issue 8): mutated tars read both ways must agree.

The child reads a tar's headers and the reader skips them (analyzer/tarstream.py ``header_records``,
``handed_members``); wherever the records stop, the reader reads on itself. Each case is a gzipped
node tar with random faults (``tests/test_header_records.mutated_tar``: bytes changed in a block,
blocks put in or taken out, the tar or the gzip cut), read by ``open_bundle`` through the child and
through a thread that sends no records; artifacts, file records, warnings and bytes read (or the
error) must be the same. A case that differs is saved for a test.

Run: ``.venv/bin/python benchmarks/header_records_fuzz.py [--seconds 120] [--seed 0]``. Exit code 1
when any case differed.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_header_records import both_ways, mutated_tar  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = Path(tempfile.mkdtemp(prefix="podmortem-tarfuzz-"))
    path, tried, differ = out / "case.tar.gz", 0, 0
    deadline = time.monotonic() + args.seconds
    with pytest.MonkeyPatch.context() as monkeypatch:
        while time.monotonic() < deadline:
            packed = mutated_tar(rng)
            path.write_bytes(packed)
            through_child, through_thread, _ = both_ways(path, monkeypatch)
            tried += 1
            if through_child != through_thread:
                differ += 1
                kept = out / f"differs-{args.seed}-{tried}.tar.gz"
                kept.write_bytes(packed)
                print(f"differs: {kept}", flush=True)
    path.unlink(missing_ok=True)
    print(f"header records fuzz, seed {args.seed}, {args.seconds:g} s: {tried} mutated archives, {differ} read differently"
          f"{'; inputs in ' + str(out) if differ else ''}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
