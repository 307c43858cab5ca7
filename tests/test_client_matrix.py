"""The compatibility matrix and the findings registry it reads (docs/findings/index.toml).

The registry must name real strict-xfail tests, so a matrix cell marked failed always has a
replayed program behind it; every bug report in docs/findings/ must be in it.
"""

import json
import sys
from pathlib import Path

import pytest
from _pytest.mark.structures import ParameterSet

from listwatch_conformance import matrix

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "docs" / "findings" / "index.toml"

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")


def _is_strict_xfail(marks) -> bool:
    return any(m.name == "xfail" and m.kwargs.get("strict") is True for m in marks)


def _strict_xfail(module, test: str) -> bool:
    """``test`` ("name" or "name[id]") is a test of ``module`` that runs as a strict xfail."""
    name, _, param_id = test.partition("[")
    function = getattr(module, name, None)
    if function is None:
        return False
    marks = getattr(function, "pytestmark", [])
    if _is_strict_xfail(marks):
        return True
    if not param_id:
        return False
    sets = [p for m in marks if m.name == "parametrize" for p in m.args[1] if isinstance(p, ParameterSet)]
    return any(p.id == param_id.rstrip("]") and _is_strict_xfail(p.marks) for p in sets)


def test_every_registered_finding_is_a_strict_xfail_with_a_known_client():
    from listwatch_conformance.sut.clients.loading import BUILTIN
    from tests import test_client_findings  # skips where the clients extra is missing
    for finding in tomllib.loads(REGISTRY.read_text())["finding"]:
        assert finding["tests"] and all(_strict_xfail(test_client_findings, t) for t in finding["tests"]), finding
        assert set(finding["clients"]) <= set(BUILTIN), finding
        assert finding["guarantee"] in matrix.GUARANTEES, finding
        if "report" in finding:
            assert (REGISTRY.parent / finding["report"]).is_file(), finding


def test_every_bug_report_is_registered():
    registered = {f.get("report") for f in tomllib.loads(REGISTRY.read_text())["finding"]}
    reports = {p.name for p in REGISTRY.parent.glob("*.md")}
    assert reports <= registered, reports - registered


def _report(client: str, statuses: dict) -> dict:
    return {"client": {"client": client, "version": "1.0", "guarantees": [
        {"name": name, "status": status, **({"reason": "bookmarks: False"} if status == "not-applicable" else {})}
        for name, status in statuses.items()]}}


def test_cells_follow_the_report_with_findings_on_top(tmp_path):
    findings = {("lib", "NoRetryAtExpiredRV"): ["lib-410"]}
    row = matrix.row_from_report(_report("lib", {"ViewAtRV": "passed", "NoRetryAtExpiredRV": "passed",
                                                 "WatchListSync": "not-applicable", "Converges": "failed",
                                                 "StaysAlive": "not-selected"}), findings)
    assert row.cells["ViewAtRV"] == matrix.Cell("passed")
    assert row.cells["NoRetryAtExpiredRV"] == matrix.Cell("failed", "lib-410")  # the finding outranks "passed"
    assert row.cells["WatchListSync"] == matrix.Cell("n/a", "bookmarks: False")
    assert row.cells["Converges"] == matrix.Cell("failed", "run")
    assert row.cells["StaysAlive"] == matrix.Cell("not run")
    assert row.cells["BoundedRetries"] == matrix.Cell("not run")  # absent from the report


def test_the_command_writes_the_markdown_table(tmp_path):
    report = tmp_path / "lib.json"
    report.write_text(json.dumps(_report("kr8s", {"ViewAtRV": "passed"})))
    out = tmp_path / "matrix.md"
    assert matrix.main([str(report), "--findings", str(REGISTRY), "--also", "kopf=1.45.2",
                        "--markdown", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("| client | version | ViewAtRV |")
    kr8s = next(line for line in lines if line.startswith("| `kr8s` | 1.0 |"))
    assert "failed (kr8s-synthetic-added)" in kr8s  # the registry's finding, over the report's pass
    assert "failed (kr8s-rewatch-expired-rv)" in kr8s
    assert any(line.startswith("| `kopf` | 1.45.2 |") and "failed (kopf-hot-loop, kopf-constant-backoff-410)" in line
               for line in lines)


def test_a_server_report_is_refused_with_a_clear_error(tmp_path, capsys):
    report = tmp_path / "server.json"
    report.write_text(json.dumps({"backend": {"sut": "memory"}}))
    assert matrix.main([str(report), "--findings", str(REGISTRY), "--markdown", str(tmp_path / "m.md")]) == 2
    assert "a report without a client section" in capsys.readouterr().err


def test_check_passes_a_published_row_and_names_a_stale_one(tmp_path, capsys):
    report = tmp_path / "lib.json"
    report.write_text(json.dumps(_report("reflector", {"ViewAtRV": "passed"})))
    published = tmp_path / "clients.md"
    assert matrix.main([str(report), "--findings", str(REGISTRY), "--markdown", str(published)]) == 0
    published.write_text("# the page\n\n" + published.read_text() + "\nmore text\n")
    assert matrix.main([str(report), "--findings", str(REGISTRY), "--check", str(published)]) == 0
    report.write_text(json.dumps(_report("reflector", {"ViewAtRV": "failed"})))
    assert matrix.main([str(report), "--findings", str(REGISTRY), "--check", str(published)]) == 1
    err = capsys.readouterr().err
    assert "does not have this row" in err and "| `reflector` | 1.0 | failed (run) |" in err
