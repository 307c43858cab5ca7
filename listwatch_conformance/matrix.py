"""The client compatibility matrix: client and version x client guarantee, from conformance reports.

``python -m listwatch_conformance.matrix REPORT.json ... --findings docs/findings/index.toml
--markdown OUT.md [--picture OUT.svg]``

Each report is a ``--conformance-report`` of one ``--client`` run (its ``client`` section). A cell is:
- ``failed (ID)``: a confirmed finding (``--findings``: the strict-xfail registry) names this
  client and guarantee, or the report has a counterexample for it (then the ID is ``run``);
- ``passed``: the report's status for the guarantee;
- ``n/a (REASON)``: not applicable, with the capability the report names;
- ``not run``: neither (the run left it out, or there is no report for the client).
A finding outranks a report's "passed": a short run may miss what a replayed program shows.

The picture (``--picture``, SVG or PNG by its suffix) needs matplotlib (the ``bench`` extra).

``--check PUBLISHED.md`` compares instead of publishing: every row made from the reports must stand,
character for character, in that file (CI regenerates the rows of the clients it runs and fails,
exit status 1, naming each stale row, when docs/clients.md no longer says what the runs show).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from listwatch_conformance.model.client_guarantees import ClientGuarantee

GUARANTEES = [g.name for g in ClientGuarantee]
COLOURS = {"passed": "#b7e1a1", "failed": "#f4a6a6", "n/a": "#d9d9d9", "not run": "#ffffff"}


@attrs.frozen
class Cell:
    status: str  # passed, failed, n/a, not run
    detail: str = ""  # the finding ids, or the not-applicable reason

    def text(self) -> str:
        return f"{self.status} ({self.detail})" if self.detail else self.status


@attrs.frozen
class Row:
    client: str  # the --client value
    version: str
    cells: Mapping[str, Cell]


def load_findings(path: Path) -> dict[tuple[str, str], list[str]]:
    """(client, guarantee) -> finding ids, from the registry (docs/findings/index.toml)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    table: dict[tuple[str, str], list[str]] = {}
    for finding in tomllib.loads(path.read_text())["finding"]:
        if finding["guarantee"] not in GUARANTEES:
            raise ValueError(f"{path}: finding {finding['id']!r} names no client guarantee: {finding['guarantee']!r}")
        for client in finding["clients"]:
            table.setdefault((client, finding["guarantee"]), []).append(finding["id"])
    return table


def row_from_report(report: Mapping, findings: Mapping[tuple[str, str], list[str]]) -> Row:
    """One client's row: its report's verdicts, with the registry's findings on top."""
    section = report.get("client")
    if not section:
        raise ValueError(f"a report without a client section (a --sut run?): {report.get('backend')}")
    client = section["client"]
    statuses = {g["name"]: g for g in section["guarantees"]}
    cells = {}
    for name in GUARANTEES:
        entry = statuses.get(name, {})
        ids = findings.get((client, name), [])
        if entry.get("status") == "failed" and not ids:
            ids = ["run"]
        if ids:
            cells[name] = Cell("failed", ", ".join(ids))
        elif entry.get("status") == "passed":
            cells[name] = Cell("passed")
        elif entry.get("status") == "not-applicable":
            cells[name] = Cell("n/a", entry.get("reason", ""))
        else:
            cells[name] = Cell("not run")
    return Row(client, section.get("version") or "?", cells)


def rows_for_findings_only(clients: Iterable[tuple[str, str]],
                           findings: Mapping[tuple[str, str], list[str]]) -> list[Row]:
    """Rows for clients without a report: their findings, the rest not run."""
    return [row_from_report({"client": {"client": client, "version": version, "guarantees": []}}, findings)
            for client, version in clients]


def markdown(rows: list[Row]) -> str:
    head = "| client | version | " + " | ".join(GUARANTEES) + " |"
    rule = "|---|---|" + "---|" * len(GUARANTEES)
    body = [f"| `{r.client}` | {r.version} | " + " | ".join(r.cells[g].text() for g in GUARANTEES) + " |"
            for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def picture(rows: list[Row], path: Path) -> None:
    """The matrix as a coloured table (matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.5 + 1.6 * len(GUARANTEES), 1.0 + 0.55 * len(rows)))
    ax.axis("off")
    text = [[r.cells[g].status if r.cells[g].status != "failed"
             else "failed\n" + r.cells[g].detail.replace(", ", "\n") for g in GUARANTEES] for r in rows]
    colours = [[COLOURS[r.cells[g].status] for g in GUARANTEES] for r in rows]
    # a guarantee's name on two lines (ResumeFrom / LastSeen): the columns stay narrow enough to read
    labels = [re.sub(r"(?<=[a-z])(?=[A-Z])", "\n", g, count=1) if len(g) > 12 else g for g in GUARANTEES]
    table = ax.table(cellText=text, cellColours=colours, rowLabels=[f"{r.client} {r.version}" for r in rows],
                     colLabels=labels, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(6)
    table.scale(1, 2.6)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def stale_rows(rows: list[Row], published: str) -> list[str]:
    """The rows of ``rows``, as Markdown lines, that ``published`` does not contain verbatim."""
    lines = set(published.splitlines())
    return [line for line in markdown(rows).splitlines()[2:] if line not in lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m listwatch_conformance.matrix", description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", type=Path, help="--conformance-report JSON files of --client runs")
    parser.add_argument("--findings", type=Path, required=True, help="the findings registry (docs/findings/index.toml)")
    parser.add_argument("--also", action="append", default=[], metavar="CLIENT=VERSION",
                        help="a client without a report: a row of its findings")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--markdown", type=Path, help="write the matrix here")
    out.add_argument("--check", type=Path, metavar="PUBLISHED.md",
                     help="exit 1 unless every row made from the reports stands verbatim in this file")
    parser.add_argument("--picture", type=Path, default=None, help="an SVG or PNG of the matrix (needs matplotlib)")
    args = parser.parse_args(argv)
    try:
        findings = load_findings(args.findings)
        rows = [row_from_report(json.loads(path.read_text()), findings) for path in args.reports]
    except (OSError, ValueError, KeyError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        print(f"matrix: {exc}", file=sys.stderr)
        return 2
    rows += rows_for_findings_only([tuple(a.split("=", 1)) for a in args.also], findings)
    if args.check is not None:
        stale = stale_rows(rows, args.check.read_text())
        for line in stale:
            print(f"matrix: {args.check} does not have this row, made from the reports:\n  {line}", file=sys.stderr)
        return 1 if stale else 0
    args.markdown.write_text(markdown(rows))
    if args.picture is not None:
        try:
            picture(rows, args.picture)
        except ImportError as exc:
            print(f"matrix: --picture needs matplotlib (pip install -e '.[bench]'): {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
