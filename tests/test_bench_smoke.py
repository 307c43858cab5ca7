"""The benchmarks cannot rot: every script in bench/ runs in its smoke mode, as a user runs it.

Each test runs ``python bench/NAME.py --smoke --out TMP/NAME.md`` from the checkout in a
subprocess (its own process group, killed at the deadline) and checks that it exits 0, prints
the Markdown it wrote, and that the table holds what the script measures: its header and real
figures. A smoke run measures nothing, takes seconds, and never writes under bench/results/
(checked too). Scripts that need the ``bench`` extra (HypoFuzz, matplotlib) are skipped, with
the reason, where it is not installed; their smoke modes need it only where they must.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
MODULES = {"publish.py", "bare.py", "smoke_profile.py"}  # imported by the scripts, not run
NUMBER = r"\d[\d,]*(?:\.\d+)?"


def needs(module: str, what: str) -> None:
    """Skip the test, saying why, when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"needs {what}, which is not installed (pip install -e '.[bench]')")


def results_state() -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in RESULTS.rglob("*")}


def smoke(name: str, tmp_path: Path, *args: str, deadline: float = 180) -> str:
    """Run ``bench/NAME.py --smoke --out TMP/NAME.md ARGS``; return the Markdown it wrote."""
    out = tmp_path / f"{name}.md"
    before = results_state()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    proc = subprocess.Popen([sys.executable, f"bench/{name}.py", "--smoke", "--out", str(out), *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"bench/{name}.py --smoke ran past its {deadline:g} s deadline and was killed")
    finally:
        if proc.poll() is None:  # an exception other than the deadline: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, f"bench/{name}.py --smoke exited {proc.returncode}:\n{stderr[-3000:]}"
    assert results_state() == before, f"bench/{name}.py --smoke changed bench/results/"
    assert out.exists(), f"bench/{name}.py --smoke wrote nothing to {out}"
    text = out.read_text()
    assert text.strip() in stdout, f"bench/{name}.py --smoke did not print the table it wrote"
    return text


def test_every_script_has_a_smoke_test():
    """A new script in bench/ gets a smoke test here, or it can rot unseen."""
    scripts = {p.name for p in BENCH.glob("*.py") if p.name not in MODULES}
    tested = {m.group(1) + ".py" for m in re.finditer(r'smoke\("(\w+)"', Path(__file__).read_text())}
    assert scripts <= tested, f"bench scripts without a smoke test: {sorted(scripts - tested)}"
    assert all("__main__" not in (BENCH / m).read_text() for m in MODULES), "a module in MODULES is a script"


def test_harness(tmp_path):
    """The bare machine replays the conformance machine's programs, step for step."""
    text = smoke("harness", tmp_path)
    assert "| round | load (1 min) | bare: steps, examples, wall s, CPU s | bare steps/s |" in text
    row = re.search(rf"^\| 1 \| {NUMBER} \| (\d+), (\d+), {NUMBER}, {NUMBER} \| ({NUMBER}) \| (\d+), (\d+), ", text, re.M)
    assert row, text
    bare_steps, bare_examples, rate, steps, examples = row.groups()
    assert int(bare_steps) > 0 and float(rate.replace(",", "")) > 0
    assert (bare_steps, bare_examples) == (steps, examples)
    assert "every bare and conformance run took the same" in text
    assert re.search(rf"ratio {NUMBER} \(target >= 0.5\)", text)


def test_harness_smoke_never_writes_results(tmp_path):
    proc = subprocess.run([sys.executable, "bench/harness.py", "--smoke", "--out", "bench/results/harness.md"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "--smoke writes no results" in proc.stderr


def test_checker(tmp_path):
    text = smoke("checker", tmp_path)
    assert "| writes | load | watch rv=N (replay) | watch rv=None (live) |" in text
    for n in ("1,000", "3,000"):
        assert re.search(rf"^\| {n} \| {NUMBER} \| {NUMBER} \({NUMBER}\); {NUMBER} \|", text, re.M), text
    assert "Growth of CPU time from 1,000 to 3,000 writes" in text


def test_checker_plot(tmp_path):
    needs("matplotlib", "matplotlib (the checker's plot)")
    smoke("checker", tmp_path, "--plot", str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_mutants(tmp_path):
    text = smoke("mutants", tmp_path)
    assert "| mutant | guarantee reported | median time to first failure (s) |" in text
    assert re.search(rf"^\| BookmarkWithoutAllow \| Bookmarkable \| {NUMBER} \| {NUMBER} \|", text, re.M), text
    assert "killed on every seed: 1/1" in text
    assert (tmp_path / "mutants.programs.txt").exists()


@pytest.mark.slow  # a client zoo kill with shrinking
def test_clients(tmp_path):
    text = smoke("clients", tmp_path)
    assert "| mutant | guarantee | killed | median s to detect | shrunk rule calls | expected |" in text
    assert re.search(rf"^\| RetrySameRVAfterExpired \| NoRetryAtExpiredRV \| 1/1 \| {NUMBER} \|", text, re.M), text


@pytest.mark.slow  # a pytest run beside a CPU hog
def test_stress(tmp_path):
    text = smoke("stress", tmp_path)
    assert "**1 of 1 runs passed, 0 failed.**" in text
    assert re.search(rf"^\| 1 \| 0 \| {NUMBER} \| {NUMBER} \| 1 passed", text, re.M), text


@pytest.mark.slow  # pytest runs with and without workers
def test_parallel(tmp_path):
    needs("xdist", "pytest-xdist (the dev extra)")
    text = smoke("parallel", tmp_path, deadline=300)
    assert "| mode | round | load (1 min) before | wall time | CPU time | CPU / wall | result |" in text
    for mode in ("no xdist", "-n 2"):
        assert re.search(rf"^\| `{mode}` \| 1 \| {NUMBER} \| {NUMBER} s \| {NUMBER} s \| {NUMBER} \| \d+ passed",
                         text, re.M), text
    assert "test_list_watch_contract" in text  # the longest tests, from the -n 2 run's --durations


def test_fuzz_conformance(tmp_path):
    text = smoke("fuzz_conformance", tmp_path)
    row = re.search(r"^\| bench/fuzz_conformance.py::TestListWatchContract \| memory \| (\d+) \| (\d+) \| "
                    rf"{NUMBER} \| passed \|$", text, re.M)
    assert row and int(row.group(1)) > 0 and int(row.group(2)) > 0, text


def test_fuzz(tmp_path):
    needs("hypofuzz", "HypoFuzz (the fuzzing campaign)")
    text = smoke("fuzz", tmp_path, deadline=240)
    assert "# A bounded HypoFuzz campaign on the conformance machine" in text
    assert "- workers that reported: 1" in text
    assert re.search(rf"- examples run: {NUMBER} ", text), text


def test_mutation(tmp_path):
    needs("cosmic_ray", "cosmic-ray (the mutation benchmark)")
    text = smoke("mutation", tmp_path)
    assert "# Mutation score of the conformance suite on the reference backend" in text
    assert "- tool: cosmic-ray " in text
    row = re.search(r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+)/(\d+) = ",
                    text, re.M)
    assert row, text
    run, killed, survived, timeout, unjudgeable, equivalent, allowed, real, numerator, denominator = map(int, row.groups())
    assert run == 2 and killed + survived + timeout + unjudgeable == run and equivalent + allowed + real == survived
    assert (numerator, denominator) == (killed, run - equivalent - allowed)
    saved = json.loads((tmp_path / "mutation.json").read_text())
    assert [m["verdict"] for m in saved["mutants"]].count("killed") == killed
    assert all(m["diff"].startswith("--- a/sut/filtering.py") for m in saved["mutants"])
    assert subprocess.run(["git", "status", "--porcelain", "sut"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30).stdout == "", "the mutation run left sut/ changed"
