"""The conformance report and the guarantee filter, as a user runs them: one pytest command
against a backend with two independent bugs, the JSON parsed, the Markdown read, and the
printed rerun line replayed."""

import json
import shlex

import pytest

from listwatch_conformance.sut.mutants import ExactListIgnoresRV, NamespacePrefix
from tests.conftest import run_pytest

SELECTED = ["NamespaceIsolation", "ListExact", "Ordered"]


class TwoBugs(NamespacePrefix, ExactListIgnoresRV):
    """ns1 also matches ns10, and exact lists ignore their RV: two guarantees broken at once."""


@pytest.fixture(scope="module")
def two_bug_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "conformance.json"
    args = ["properties/test_conformance.py", "--sut", "tests.test_report:TwoBugs", "--hypothesis-profile", "ci",
            "--conformance-report", str(path)]
    for name in SELECTED:
        args += ["--guarantee", name]
    result = run_pytest(*args, timeout=600)
    return result, json.loads(path.read_text()), path.with_suffix(".md").read_text()


def test_every_broken_guarantee_gets_its_own_counterexample(two_bug_run):
    result, report, _ = two_bug_run
    assert result.returncode == 1, result.stdout[-3000:]
    status = {g["name"]: g["status"] for g in report["guarantees"]}
    assert status["NamespaceIsolation"] == status["ListExact"] == "failed"
    assert status["Ordered"] == "passed"  # checked by the last, complete search
    assert {n for n, s in status.items() if s == "not-selected"} == {g["name"] for g in report["guarantees"]} - set(
        SELECTED)
    assert "Also broken: " in result.stdout  # the second finding follows the first in pytest's output


def test_report_json_follows_its_schema(two_bug_run):
    _, report, _ = two_bug_run
    assert report["schema"] == "listwatch-conformance-report/1"
    assert report["suite"]["name"] == "listwatch-conformance"
    assert report["backend"]["sut"] == "tests.test_report:TwoBugs"
    assert report["capabilities"]["exact_list"] is True
    assert report["hypothesis"]["profile"] == "ci" and report["hypothesis"]["derandomize"] is True
    assert report["outcome"] == "failed" and report["exit_status"] == 1
    assert report["selected"] == sorted(SELECTED)
    (run,) = report["runs"]
    assert run["test"] == "properties/test_conformance.py::test_list_watch_contract"
    assert [s["found"] for s in run["searches"]][-1] is None and run["complete"]
    assert all(s["examples"] > 0 for s in run["searches"])
    for entry in report["guarantees"]:
        for c in entry["counterexamples"]:
            assert c["message"].startswith(f"{entry['name']}: ")
            assert c["program"][0] == "state = ListWatchConformance()"
            assert c["expected"] and c["observed"] and c["reproduce"]
            assert f"--reproduce={c['reproduce']}" in c["rerun"]


def test_markdown_renders_the_verdicts(two_bug_run):
    _, report, markdown = two_bug_run
    assert markdown.startswith("# List-watch conformance: tests.test_report:TwoBugs")
    assert "**Outcome: failed**" in markdown
    assert "| NamespaceIsolation | failed |" in markdown
    assert "| Ordered | passed |" in markdown
    assert "| exact_list | True |" in markdown
    assert markdown.count("### ") == 2 and "Shrunk program:" in markdown


def rerun_command(report: dict, guarantee: str) -> list[str]:
    """The rerun line printed for ``guarantee``'s counterexample. (NamespaceIsolation's replays
    deterministically; a counterexample whose outcome hangs on which thread of a burst wins may not.)"""
    (failure,) = [c for g in report["guarantees"] if g["name"] == guarantee for c in g["counterexamples"]]
    return shlex.split(failure["rerun"].split(": ", 1)[1])


def test_the_printed_rerun_line_replays_the_failure(two_bug_run):
    _, report, _ = two_bug_run
    command = rerun_command(report, "NamespaceIsolation")
    assert command[0] == "pytest"
    result = run_pytest(*command[1:], timeout=120)
    assert result.returncode == 1
    assert "NamespaceIsolation: " in result.stdout
    assert "1 failed" in result.stdout
    failure = result.stdout.split("Captured")[0]  # the replayed program under our heading, not in stdout
    assert "Shrunk program:" in failure and "state = ListWatchConformance()" in failure, result.stdout[-3000:]
    assert "--reproduce=" in failure


def test_not_applicable_guarantees_are_named_with_the_capability(tmp_path, repo):
    (tmp_path / "my_backend.py").write_text((repo / "examples" / "minimal_backend.py").read_text())
    path = tmp_path / "report.json"
    result = run_pytest("properties/test_conformance.py", "--sut", "my_backend:MinimalBackend", "--guarantee",
                        "listexact", "--conformance-report", str(path), env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout  # nothing selected applies: skipped, not passed
    entry = next(g for g in json.loads(path.read_text())["guarantees"] if g["name"] == "ListExact")
    assert entry == {**entry, "status": "not-applicable", "reason": "capabilities.exact_list is off"}


def test_unknown_guarantee_is_a_usage_error():
    result = run_pytest("properties", "--guarantee", "Reliabel", timeout=60)
    assert result.returncode == 4
    assert "--guarantee: unknown guarantee 'Reliabel'; the guarantees are: Ordered, Unique, Reliable" in result.stderr


def test_the_rerun_line_passes_once_the_backend_is_fixed(two_bug_run):
    """The round trip's last step: the same example against a backend without the bug passes."""
    _, report, _ = two_bug_run
    command = rerun_command(report, "NamespaceIsolation")
    command[command.index("--sut") + 1] = "memory"  # the fix
    result = run_pytest(*command[1:], timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout


def test_report_is_written_under_xdist(tmp_path):
    """With -n 2 the test runs in a worker; its record reaches the controller, which writes the report."""
    path = tmp_path / "report.json"
    result = run_pytest("properties", "-n", "2", "--conformance-report", str(path), timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    report = json.loads(path.read_text())
    assert report["outcome"] == "passed"
    assert [r["test"] for r in report["runs"]] == ["properties/test_conformance.py::test_list_watch_contract"]
    assert {g["status"] for g in report["guarantees"]} == {"passed"}


@pytest.mark.slow
def test_a_silent_backend_ends_the_run_at_its_first_finding(tmp_path):
    """A dead dispatcher breaks five guarantees by name, each found only by waiting the whole budget for
    what never comes; the run stops at the first (confirmed at the full budget) and says why the others
    have no verdict, instead of searching minutes for each (DispatcherDies: 5 min 45 s before)."""
    path = tmp_path / "conformance.json"
    result = run_pytest("properties/test_conformance.py", "--sut", "listwatch_conformance.sut.mutants:DispatcherDies",
                        "--hypothesis-profile", "ci", "--conformance-report", str(path), timeout=600)
    assert result.returncode == 1, result.stdout[-3000:]
    report = json.loads(path.read_text())
    (run,) = report["runs"]
    assert [f["guarantee"] for f in run["findings"]] in (["Liveness"], ["ProgressLiveness"], ["Reliable"])
    assert not run["complete"] and "whole wait budget" in run["stopped"]
    status = {g["name"]: g for g in report["guarantees"]}
    unjudged = [g for g in status.values() if g["status"] == "not-run"]
    assert unjudged and all("the search stopped before a verdict" in g["reason"] for g in unjudged)
    assert "Not judged (" in result.stdout and "--guarantee NAME" in result.stdout


def test_an_unobservable_client_view_makes_the_view_guarantees_not_applicable():
    """kubectl wait shows no view: the report says so for the view's guarantees, with the capability,
    instead of "not run"; its request-level guarantees keep their verdicts."""
    import hypothesis

    from listwatch_conformance.model.client_guarantees import REQUEST_LEVEL, ClientGuarantee
    from listwatch_conformance.properties.report import ClientInfo, SessionInfo, build_report
    from listwatch_conformance.sut.api import Capabilities
    from listwatch_conformance.sut.clients.api import ClientCapabilities

    session = SessionInfo("memory", {}, Capabilities(), frozenset(), "ci", hypothesis.settings(), None, 1.0, 0)
    checked = sorted(g.name for g in REQUEST_LEVEL - {ClientGuarantee.BoundedRetries})
    run = {"test": "t", "checked": checked, "complete": True, "passed": checked, "fault": None, "searches": [],
           "findings": []}
    client = ClientInfo("kubectl-wait", {}, ClientCapabilities(cache=True, lists=True, bookmarks=True, watch_list=False,
                                                            user_restarts=False, observable_view=False), frozenset())
    status = {g["name"]: g for g in build_report(session, [], client, [run])["client"]["guarantees"]}
    assert status["ViewAtRV"]["status"] == "not-applicable" and "observable_view" in status["ViewAtRV"]["reason"]
    assert status["NoDuplicateEvents"]["status"] == "not-applicable"
    assert all(status[name]["status"] == "passed" for name in checked)
    assert status["BoundedRetries"]["status"] == "not-run"  # request-level, but no run measured it
