"""The one way a benchmark hands over its Markdown: printed, and written to ``--out`` if given."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def publish(lines: list[str], out: str | Path | None) -> str:
    """Join ``lines`` into a Markdown document, print it, write it to ``out`` (if any); return it."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"written to {path}", file=sys.stderr)
    return text


def output_path(out: str | Path | None, smoke: bool, name: str) -> Path | None:
    """Where a benchmark writes its Markdown: ``out``; in a smoke run (a check that the script still
    runs, not a measurement) a new temporary directory's ``name`` unless ``out`` is given, and never a
    path under bench/results/, which holds real measurements only."""
    if not smoke:
        return Path(out) if out else None
    if out is None:
        return Path(tempfile.mkdtemp(prefix="listwatch-bench-smoke-")) / name
    if Path(out).resolve().is_relative_to(RESULTS):
        raise SystemExit(f"--smoke writes no results: {out} is under {RESULTS}; choose another --out")
    return Path(out)
