"""The one way a benchmark hands over its Markdown: printed, and written to ``--out`` if given."""

from __future__ import annotations

from pathlib import Path


def publish(lines: list[str], out: str | Path | None) -> str:
    """Join ``lines`` into a Markdown document, print it, write it to ``out`` (if any); return it."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return text
