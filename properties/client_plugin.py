"""The pytest glue for client runs: ``--client``, the ``client`` fixture and ``client_conformance``.

``pytest properties --client MODULE:NAME`` (or a built-in short name, ``reflector``) checks the
client adapter ``NAME()`` returns (``sut/clients/api.py``): the client machine runs a campaign
(one shrunk counterexample per broken guarantee) and the test fails with the first broken
guarantee, the others as notes. With ``--client`` the server conformance tests (those using the
``sut`` fixture) are deselected, so one command gives a client's whole verdict; without it the
client tests skip. ``--guarantee`` accepts the client guarantees' names too; ``--reproduce``
replays one counterexample.
"""

from __future__ import annotations

import shlex

import attrs
import pytest

from listwatch_conformance.model.client_guarantees import ClientGuarantee as CG
from listwatch_conformance.properties.campaign import reproduce_blob, run_campaign
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendFault, BackendHang
from listwatch_conformance.properties.profiles import conformance_settings, profile_name
from listwatch_conformance.sut.clients.loading import ClientSpecError, probe_client, resolve_client

CLIENT_KEY = pytest.StashKey[tuple]()  # (--client value, factory, capabilities, info) or None
CLIENT_SELECTED = pytest.StashKey[frozenset]()  # client guarantees named with --guarantee (empty: all)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch", "list-watch conformance")
    group.addoption("--client", default=None, metavar="CLIENT",
                    help="check a client library instead of a backend: a built-in name (reflector, kubernetes-informer, "
                         "kubernetes-watch, reflector-watch-list) or MODULE:NAME, where NAME() returns a fresh adapter "
                         "implementing sut/clients/api.py")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[CLIENT_SELECTED] = frozenset(g for g in CG if g.name.lower() in
                                              {n.lower() for n in config.getoption("--guarantee")})
    config.stash[CLIENT_KEY] = None
    spec = config.getoption("--client")
    if spec is None:
        return
    try:
        factory = resolve_client(spec)
        capabilities, info = probe_client(spec, factory)
    except ClientSpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CLIENT_KEY] = (spec, factory, capabilities, info)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--client") is None:
        return
    server = [i for i in items if "sut" in getattr(i, "fixturenames", ()) and "client" not in i.fixturenames]
    if server:
        config.hook.pytest_deselected(items=server)
        items[:] = [i for i in items if i not in server]


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config):
    """(spec, factory, capabilities, info) of the client under test; skips without ``--client``."""
    chosen = pytestconfig.stash[CLIENT_KEY]
    if chosen is None:
        pytest.skip("no client chosen: run `pytest properties --client reflector` (or MODULE:NAME)")
    # an adapter whose client cannot run here (a missing runtime or package) says why: skipped, not failed
    reason = getattr(chosen[1], "unavailable", lambda: None)()
    if reason:
        pytest.skip(f"--client {chosen[0]}: {reason}")
    return chosen


@attrs.define
class ClientConformanceCheck:
    """Runs a campaign of the client machine and turns its outcome into the test's verdict."""

    request: pytest.FixtureRequest

    def run(self, machine_for, settings=None):
        config = self.request.config
        checked = config.stash[CLIENT_SELECTED] or frozenset(CG) - {CG.BoundedRetries}
        if not checked:
            pytest.skip("none of the selected guarantees is a client guarantee")
        campaign = run_campaign(machine_for, checked, settings or conformance_settings(),
                                first_only=config.getoption("maxfail") == 1,
                                reproduce=config.getoption("--reproduce"))
        if campaign.replayed_clean:
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line("\n--reproduce: the example no longer fails")
        if isinstance(campaign.fault, (BackendFault, BackendHang)):
            notes = [n for n in getattr(campaign.fault, "__notes__", []) if "@reproduce_failure" not in n]
            pytest.fail("\n".join([str(campaign.fault), *notes,
                                   self.rerun_line(reproduce_blob(getattr(campaign.fault, "__notes__", [])))]),
                        pytrace=False)
        if campaign.fault is not None:
            raise campaign.fault
        if campaign.findings:
            first, *others = campaign.findings
            violation = first.violation
            violation.__notes__ = [n for n in getattr(violation, "__notes__", []) if "@reproduce_failure" not in n]
            violation.add_note(self.rerun_line(first.reproduce))
            for other in others:
                violation.add_note(f"\nAlso broken: {other.violation}\n" + "\n".join(other.program)
                                   + f"\n{self.rerun_line(other.reproduce)}")
            raise violation
        return campaign

    def rerun_line(self, blob: str | None) -> str:
        if blob is None:
            return "(Hypothesis gave no reproduce blob for this failure; rerun the same command)"
        config = self.request.config
        args = ["pytest", self.request.node.nodeid, "--client", config.getoption("--client"),
                "--hypothesis-profile", profile_name()]
        if config.getoption("--wait-budget") is not None:
            args += ["--wait-budget", str(HARNESS.wait_budget)]
        args.append(f"--reproduce={blob}")
        return f"Rerun exactly this counterexample: {shlex.join(args)}"


@pytest.fixture
def client_conformance(request: pytest.FixtureRequest) -> ClientConformanceCheck:
    return ClientConformanceCheck(request)
