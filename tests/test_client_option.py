"""--client: a bad value is a one-paragraph usage error, as a bad --sut is; without it the client
test skips; with it the server conformance tests are deselected."""

import pytest

from listwatch_conformance.sut.clients.loading import BUILTIN
from tests.conftest import run_pytest


@pytest.mark.parametrize(("value", "says"), [
    ("nope", "is neither a built-in client nor of the form MODULE:NAME"),
    ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
    ("listwatch_conformance.sut.memory:MemoryBackend", "lacks start, view"),
])
def test_bad_client_is_a_usage_error(value, says):
    result = run_pytest("properties", "--client", value, "--collect-only", "-q", timeout=120)
    assert result.returncode == 4, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(error) == 1 and says in error[0], result.stderr
    assert f"--client takes a built-in name ({', '.join(sorted(BUILTIN))}) or MODULE:NAME" in error[0]


def test_client_selects_the_client_suite():
    result = run_pytest("properties", "--client", "reflector", "--collect-only", "-q", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_client_list_watch_contract" in result.stdout
    assert "test_list_watch_contract" not in result.stdout.replace("test_client_list_watch_contract", "")


def test_a_client_that_cannot_run_here_is_skipped_with_its_reason(tmp_path):
    """client-node without its npm package: every client test skips, naming the command to run."""
    result = run_pytest("properties", "--client", "client-node", "-rs", timeout=120,
                        env={"LISTWATCH_CLIENT_NODE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 skipped" in result.stdout, result.stdout
    assert f"@kubernetes/client-node is not installed in {tmp_path}/node_modules: run `npm ci --prefix" in result.stdout
