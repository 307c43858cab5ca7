"""The pytest plugin: --sut, the wait budget, and the Hypothesis profiles.

Profiles (select with ``--hypothesis-profile NAME``):
  dev       quick local runs (the default without CI)
  ci        derandomized, no example database, more examples (the default when CI is set)
  thorough  many examples and long programs, for a deep search before a release
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from properties.config import HARNESS
from properties.stash import BACKEND_INFO, SUT_KEY
from sut.loading import SutError, probe_backend, resolve_factory

pytest_plugins = [
    "properties.plugin",  # --guarantee, --reproduce, --conformance-report
    "sut.kube.plugin",  # --kube-url, --kube-serve... for --sut kube
    "sut.etcd.plugin",  # --etcd-endpoint for --sut etcd
]

# The explain phase is left out: it lists the suite's own source lines, which is noise to users.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
_COMMON = dict(deadline=None, report_multiple_bugs=False, phases=_PHASES, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("dev", max_examples=40, stateful_step_count=40, **_COMMON)
settings.register_profile("ci", max_examples=150, stateful_step_count=50, derandomize=True, database=None,
                          **_COMMON)
settings.register_profile("thorough", max_examples=1500, stateful_step_count=100, **_COMMON)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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


@pytest.fixture(scope="session")
def sut(pytestconfig: pytest.Config):
    """(spec, factory, capabilities) of the backend under test; override to pin your own backend."""
    return pytestconfig.stash[SUT_KEY]
