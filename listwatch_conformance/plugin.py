"""The pytest plugin: --sut, the wait budget, and the Hypothesis profiles.

Registered by the ``pytest11`` entry point ``listwatch_conformance.plugin`` (this module's own
name, so the checkout's conftest.py naming it again is a no-op). It brings in the option
groups of :mod:`listwatch_conformance.properties.plugin` and the kube and etcd backends.

Profiles: see :mod:`listwatch_conformance.properties.profiles`.

The suite's own test modules (``listwatch_conformance.properties.test_*``) are imported by
that name wherever they lie. In an editable install they lie in the checkout's
``properties/`` folder, for which pytest's default import mode would make up the name
``properties.test_conformance``: a second module tree beside ``listwatch_conformance``, and a
clash with a user's own top-level ``properties`` package. See :func:`pytest_pycollect_makemodule`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.profiles import register_profiles
from listwatch_conformance.properties.stash import BACKEND_INFO, SUT_KEY
from listwatch_conformance.sut.loading import SutError, probe_backend, resolve_factory

pytest_plugins = [
    "listwatch_conformance.properties.plugin",  # --guarantee, --reproduce, --conformance-report
    "listwatch_conformance.properties.client_plugin",  # --client: check a client library instead
    "listwatch_conformance.sut.kube.plugin",  # --kube-url, --kube-serve... for --sut kube
    "listwatch_conformance.sut.etcd.plugin",  # --etcd-endpoint for --sut etcd
]

register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch", "list-watch conformance")
    group.addoption("--sut", default="memory", metavar="BACKEND",
                    help="backend to check: a built-in name (memory) or MODULE:NAME, where NAME() returns "
                         "a fresh, empty backend implementing sut/api.py (default: memory)")
    group.addoption("--wait-budget", type=float, default=None, metavar="SECONDS",
                    help="how long to wait for anything a backend owes (default 1.0, or "
                         "$LISTWATCH_WAIT_BUDGET); raise it for slow machines or remote backends")


def pytest_configure(config: pytest.Config) -> None:
    budget = config.getoption("--wait-budget")
    if budget is not None:
        if budget <= 0:
            raise pytest.UsageError("--wait-budget must be a positive number of seconds")
        HARNESS.wait_budget = budget
    spec = config.getoption("--sut")
    try:
        factory = resolve_factory(spec)
        capabilities, info = probe_backend(spec, factory)
    except SutError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SUT_KEY] = (spec, factory, capabilities)
    config.stash[BACKEND_INFO] = info


def _suite_test_dirs() -> dict[Path, str]:
    """The folders holding the suite's test modules, as this interpreter imports them, by package name."""
    import listwatch_conformance.properties as properties

    return {Path(d).resolve(): properties.__name__ for d in properties.__path__}


_SUITE_TEST_DIRS = _suite_test_dirs()


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """The suite's test folder is a plain directory to pytest: a ``Package`` would import its
    ``__init__.py`` under the name its location suggests (``properties`` in a checkout)."""
    if path.resolve() in _SUITE_TEST_DIRS:
        return pytest.Dir.from_parent(parent, path=path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """The suite's test modules are imported by their installed names, in every import mode."""
    package = _SUITE_TEST_DIRS.get(module_path.parent.resolve())
    if package is None:
        return None
    return _SuiteModule.from_parent(parent, path=module_path)


class _SuiteModule(pytest.Module):
    def _getobj(self):
        package = _SUITE_TEST_DIRS[self.path.parent.resolve()]
        module = importlib.import_module(f"{package}.{self.path.stem}")
        self.config.pluginmanager.consider_module(module)  # as pytest does for the modules it imports
        return module


@pytest.fixture(scope="session")
def sut(pytestconfig: pytest.Config):
    """(spec, factory, capabilities) of the backend under test; override to pin your own backend."""
    return pytestconfig.stash[SUT_KEY]
