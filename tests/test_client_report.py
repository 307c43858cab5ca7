"""Client runs as a user runs them: one pytest command against a mutant of the reference client,
with ``--guarantee`` and ``--conformance-report``; the failure rendered as server failures are,
the report's client section read, and the printed rerun line replayed (``--reproduce``)."""

import json
import shlex

import pytest

from tests.conftest import run_pytest

MUTANT = "listwatch_conformance.sut.clients.mutants:relist_replays_added"

pytestmark = pytest.mark.slow  # a search and a shrink in a fresh process: minutes


@pytest.fixture(scope="module")
def mutant_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("client-report") / "conformance.json"
    result = run_pytest("properties/test_client_conformance.py", "-k", "list_watch_contract", "--client", MUTANT,
                        "--hypothesis-profile", "ci", "--guarantee", "NoDuplicateEvents",
                        "--conformance-report", str(path), timeout=900)
    return result, json.loads(path.read_text()), path.with_suffix(".md").read_text()


def test_the_failure_is_rendered_as_server_failures_are(mutant_run):
    result, _, _ = mutant_run
    assert result.returncode == 1, result.stdout[-3000:]
    assert "NoDuplicateEvents: event " in result.stdout
    assert "Shrunk program:" in result.stdout  # the suite's heading, not Hypothesis's notes
    assert "Rerun exactly this counterexample: pytest " in result.stdout
    assert "@reproduce_failure" not in result.stdout.split("Captured")[0]


def test_the_report_has_a_client_section(mutant_run):
    _, report, markdown = mutant_run
    client = report["client"]
    assert client["client"] == MUTANT
    assert client["capabilities"]["cache"] is False
    status = {g["name"]: g["status"] for g in client["guarantees"]}
    assert status["NoDuplicateEvents"] == "failed"
    assert {n for n, s in status.items() if s == "not-selected"} == set(status) - {"NoDuplicateEvents"}
    assert report["outcome"] == "failed"
    (finding,) = next(g for g in client["guarantees"] if g["name"] == "NoDuplicateEvents")["counterexamples"]
    assert finding["program"][0] == "state = ClientConformance()"
    assert "## Client: " in markdown and "| NoDuplicateEvents | failed |" in markdown


def test_the_printed_rerun_line_replays_the_failure(mutant_run):
    _, report, _ = mutant_run
    (finding,) = next(g for g in report["client"]["guarantees"] if g["name"] == "NoDuplicateEvents")["counterexamples"]
    command = shlex.split(finding["rerun"].removeprefix("Rerun exactly this counterexample: "))
    assert command[0] == "pytest" and "--reproduce" in " ".join(command)
    result = run_pytest(*command[1:], timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "NoDuplicateEvents: " in result.stdout
    failure = result.stdout.split("Captured")[0]  # the replayed program under our heading, not in stdout
    assert "Shrunk program:" in failure and "state = ClientConformance()" in failure, result.stdout[-3000:]
    assert "--reproduce=" in failure

    command[command.index("--client") + 1] = "reflector-iterator"  # the fix: the same example passes
    result = run_pytest(*command[1:], timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
