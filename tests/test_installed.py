"""The suite as a user's project runs it: installed, from the project's own directory.

The user's project here has its own top-level ``model`` and ``properties`` packages, and a
conftest that imports them, the names the suite's folders have in this checkout. The suite
must run beside them (``pytest --pyargs listwatch_conformance.properties``, or the
``listwatch-conformance`` console script) without shadowing them or being shadowed. These
tests use the installation of the interpreter running them: in the dev environment, the
editable install of this checkout, the harder case (the suite's files lie in folders named
``properties/``, ``model/``). ``.ci/run`` does the same from a wheel in a fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # minutes in all: CI runs it (-m ""), the local loop does not

BIN = Path(sys.executable).parent
DEADLINE = 240  # seconds, for one pytest run in a subprocess

USER_CONFTEST = textwrap.dedent('''\
    import sys
    from pathlib import Path

    import model
    import properties

    HERE = Path(__file__).resolve().parent
    assert model.WHO == properties.WHO == "the user's", (model, properties)


    def pytest_unconfigure(config):
        # the user's packages are still the ones imported, and nothing of the suite's checkout
        # became importable under a bare name
        for name in ("model", "properties"):
            assert Path(sys.modules[name].__file__).resolve().parent.parent == HERE, sys.modules[name]
        for name in ("sut", "properties.test_conformance", "properties.machine"):
            assert name not in sys.modules, name
        exposed = [p for p in sys.path if p and (Path(p) / "sut" / "api.py").exists()]
        assert not exposed, exposed
''')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: own ``model`` and ``properties`` packages, a conftest importing them, a
    test of its own, and a backend module (the README's minimal backend)."""
    for package in ("model", "properties"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('WHO = "the user\'s"\n')
    (tmp_path / "properties" / "test_own.py").write_text(
        "import model\nimport properties\n\n\ndef test_own():\n    assert model.WHO == properties.WHO\n")
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    shutil.copy(REPO / "examples" / "minimal_backend.py", tmp_path / "mystore.py")
    return tmp_path


def run_in(project: Path, *args: str, env: dict | None = None, timeout: float = DEADLINE) -> subprocess.CompletedProcess:
    """Run ``args`` (a command of this environment's bin/) in the user's project, with a deadline."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTHONPATH", "CI", "PYTEST_CURRENT_TEST")}
    full_env.update(env or {})
    command = [str(BIN / args[0]), *args[1:]]
    result = subprocess.run(command, cwd=project, env=full_env, capture_output=True, text=True, timeout=timeout)
    result.output = result.stdout + result.stderr  # type: ignore[attr-defined]
    return result


SUITE = ("--pyargs", "listwatch_conformance.properties")


def test_suite_runs_beside_users_own_model_and_properties(project: Path):
    """The user's own tests and the suite in one run, and through the console script."""
    result = run_in(project, "pytest", "-p", "no:cacheprovider", "properties/test_own.py", *SUITE,
                    "--sut", "mystore:MinimalBackend")
    assert result.returncode == 0, result.output
    assert re.search(r"\b2 passed, \d+ skipped\b", result.output), result.output

    result = run_in(project, "listwatch-conformance", "-p", "no:cacheprovider", "--sut", "mystore:MinimalBackend",
                    "--hypothesis-profile", "dev")
    assert result.returncode == 0, result.output
    assert re.search(r"\b1 passed, \d+ skipped in\b", result.output), result.output  # no warning either


def test_console_script_without_plugin_autoload(project: Path):
    """The console script names the plugin itself, so it works where entry points are not loaded."""
    result = run_in(project, "listwatch-conformance", "-p", "no:cacheprovider", "--sut", "mystore:MinimalBackend",
                    "--collect-only", "-q", env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.output
    assert "test_conformance.py::test_list_watch_contract" in result.output, result.output


def test_backend_module_in_a_bare_directory(tmp_path: Path):
    """No conftest, no ini file, the ``pytest`` script (which, unlike ``python -m pytest``, does
    not put the current directory on sys.path): the backend module beside it is found."""
    shutil.copy(REPO / "examples" / "minimal_backend.py", tmp_path / "mystore.py")
    result = run_in(tmp_path, "pytest", "-p", "no:cacheprovider", *SUITE, "--sut", "mystore:MinimalBackend",
                    "--collect-only", "-q")
    assert result.returncode == 0, result.output


@pytest.mark.parametrize("profile", ["ci", "thorough"])  # dev: the runs above
def test_profiles_are_known(project: Path, profile: str):
    result = run_in(project, "pytest", "-p", "no:cacheprovider", *SUITE, "--hypothesis-profile", profile,
                    "--collect-only", "-q")
    assert result.returncode == 0, result.output


def test_failure_report_and_rerun_line_work_from_the_users_project(project: Path):
    """A broken backend fails under its guarantee's name; the report is written where asked; the
    rerun line the failure prints replays the counterexample from the same directory."""
    mutant = "listwatch_conformance.sut.mutants:DeleteCarriesOldRV"
    result = run_in(project, "pytest", "-p", "no:cacheprovider", *SUITE, "--sut", mutant, "-x",
                    "--hypothesis-profile", "dev", "--conformance-report", "out/conformance.json")
    assert result.returncode == 1, result.output
    assert "DeleteCarriesDeleteRV" in result.output, result.output
    report = json.loads((project / "out" / "conformance.json").read_text())
    assert "DeleteCarriesDeleteRV" in json.dumps(report), report
    assert "DeleteCarriesDeleteRV" in (project / "out" / "conformance.md").read_text()

    rerun = re.search(r"Rerun exactly this counterexample: (pytest .*)$", result.output, re.M)
    assert rerun, result.output
    args = rerun.group(1).split()
    assert "--pyargs" in args, rerun.group(0)  # the suite's files are not under the project
    replay = run_in(project, *args, "-p", "no:cacheprovider")
    assert replay.returncode == 1, replay.output
    assert "DeleteCarriesDeleteRV" in replay.output, replay.output


def test_guarantee_selection_from_the_users_project(project: Path):
    """--guarantee: a mutant whose only bug lies outside the selection passes."""
    mutant = "listwatch_conformance.sut.mutants:DeleteCarriesOldRV"
    result = run_in(project, "pytest", "-p", "no:cacheprovider", *SUITE, "--sut", mutant,
                    "--hypothesis-profile", "dev", "--guarantee", "Ordered")
    assert result.returncode == 0, result.output


def test_kube_serve_a_users_backend(project: Path):
    """--kube-serve starts our HTTP server in a child process, which must import the user's module."""
    result = run_in(project, "pytest", "-p", "no:cacheprovider", *SUITE, "--sut", "kube",
                    "--kube-serve", "mystore:MinimalBackend", "--hypothesis-profile", "dev")
    assert result.returncode == 0, result.output
    assert re.search(r"\b1 passed, \d+ skipped\b", result.output), result.output


def test_checkout_old_spelling_of_a_suite_module_is_a_usage_error():
    """In a checkout, ``sut.mutants`` would import the folder a second time under its folder name."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "properties",
                             "--sut", "sut.mutants:DeleteCarriesOldRV"],
                            cwd=REPO, capture_output=True, text=True, timeout=DEADLINE)
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "--sut listwatch_conformance.sut.mutants:DeleteCarriesOldRV" in output, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("autoload", ["1", ""])
def test_checkout_registers_the_plugin_once(autoload: str):
    """The checkout's conftest names the plugin the entry point registers: once, with or without autoload."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    # without autoload, pytest-xdist too must be named: the checkout's addopts ask for its -n
    xdist = ["-p", "xdist.plugin"] if autoload else []
    if autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    result = subprocess.run([sys.executable, "-m", "pytest", *xdist, "-p", "no:cacheprovider", "properties", "--collect-only",
                             "-q", "--trace-config"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=DEADLINE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for plugin in ("listwatch_conformance.plugin", "listwatch_conformance.properties.plugin"):
        assert output.count(f"PLUGIN registered: <module '{plugin}'") == 1, output


def _readme_ci_jobs() -> list[dict]:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the dev extra (kubernetes needs it)
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Gate your own project's CI"):]
    section = section[:section.index("\n## ", 1)]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def test_readme_ci_jobs_are_valid_and_complete():
    """The README's GitHub Actions and GitLab CI jobs parse, install the suite from git, run it
    with a report, and publish both report files, also when the check fails."""
    github, gitlab = _readme_ci_jobs()

    (job,) = github["jobs"].values()
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pip install \"listwatch-conformance @ git+" in runs, runs
    assert re.search(r"^listwatch-conformance --sut \S+ --conformance-report out/conformance.json", runs, re.M), runs
    (upload,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()", upload
    assert upload["with"]["path"].split() == ["out/conformance.json", "out/conformance.md"], upload

    (job,) = gitlab.values()
    script = "\n".join(job["script"])
    assert "pip install \"listwatch-conformance @ git+" in script, script
    assert re.search(r"^listwatch-conformance --sut \S+ --conformance-report out/conformance.json", script, re.M), script
    assert job["artifacts"]["when"] == "always", job
    assert {"out/conformance.json", "out/conformance.md"} <= set(job["artifacts"]["paths"]), job
