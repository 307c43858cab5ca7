"""`--sut` as a new user meets it: a bad value stops pytest with one short paragraph naming the
problem (exit code 4, a usage error), never a traceback; a backend outside the repository works."""

import textwrap

import pytest

from tests.conftest import run_pytest

BAD_BACKENDS = textwrap.dedent('''
    from listwatch_conformance.sut.api import Capabilities

    NOT_CALLABLE = 42

    def raises():
        raise RuntimeError("cannot connect to the store")

    class NoMethods:
        capabilities = Capabilities()

    class AllMethods:
        def create(self, *a, **k): ...
        def update(self, *a, **k): ...
        def delete(self, *a, **k): ...
        def list(self, *a, **k): ...
        def watch(self, *a, **k): ...
        def compact(self, *a, **k): ...
        def request_progress(self, *a, **k): ...
        def close(self): ...

    class NoCapabilities(AllMethods):
        pass

    class NumericVersion(AllMethods):
        capabilities = Capabilities()
        version = 3.4

    def returns_none():
        return None

    class BadCapabilities(AllMethods):
        capabilities = {"bookmarks": True}
''')


@pytest.fixture
def bad_module(tmp_path):
    (tmp_path / "bad_backends.py").write_text(BAD_BACKENDS)
    (tmp_path / "broken_import.py").write_text("raise ImportError('missing dependency: libfoo')\n")
    return tmp_path


@pytest.mark.parametrize("sut, message", [
    ("nosuchmodule:Factory", "cannot import module 'nosuchmodule'"),
    ("etcdd", "neither a built-in backend nor of the form MODULE:NAME"),
    ("bad_backends:Missing", "has no attribute 'Missing'"),
    ("bad_backends:NOT_CALLABLE", "is a int, not callable"),
    ("bad_backends:raises", "calling the factory raised RuntimeError: cannot connect to the store"),
    ("bad_backends:NoMethods", "lacks create, update, delete, list, watch, compact, request_progress, close"),
    ("bad_backends:BadCapabilities", "backend.capabilities is {'bookmarks': True}, not a listwatch_conformance.sut.api.Capabilities"),
    ("bad_backends:NoCapabilities", "backend.capabilities is None, not a listwatch_conformance.sut.api.Capabilities"),
    ("bad_backends:NumericVersion", "backend.version is 3.4; if given, it must be a str"),
    ("bad_backends:returns_none", "the factory returned NoneType, which lacks create, update"),
    ("broken_import:Factory", "cannot import module 'broken_import' (missing dependency: libfoo)"),
])
def test_bad_sut_is_a_short_usage_error(bad_module, sut, message):
    result = run_pytest("properties", "--sut", sut, env={"PYTHONPATH": str(bad_module)}, timeout=60)
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "MODULE:NAME" in result.stderr  # the paragraph says how to do it right


def test_backend_outside_the_repository(repo, tmp_path):
    """The README's minimal example, imported from outside the repository, passes the suite."""
    (tmp_path / "my_backend.py").write_text((repo / "examples" / "minimal_backend.py").read_text())
    result = run_pytest("properties", "--sut", "my_backend:MinimalBackend", "--hypothesis-profile", "dev",
                        env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout
