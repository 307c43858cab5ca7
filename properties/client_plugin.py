"""The pytest glue for client runs: ``--client``, the ``client`` fixture and ``client_conformance``.

``pytest properties --client MODULE:NAME`` (or a built-in short name, ``reflector``) checks the
client adapter ``NAME()`` returns (``sut/clients/api.py``): the client machine runs a campaign
(one shrunk counterexample per broken guarantee) and the test fails with the first broken
guarantee, the others as notes, rendered as server runs are (the shared ``ConformanceCheck``). With ``--client`` the server conformance tests (those using the
``sut`` fixture) are deselected, so one command gives a client's whole verdict; without it the
client tests skip. ``--guarantee`` accepts the client guarantees' names too; ``--reproduce``
replays one counterexample.
"""

from __future__ import annotations

import json

import pytest

from listwatch_conformance.model.client_guarantees import REQUEST_LEVEL, ClientGuarantee as CG
from listwatch_conformance.properties.plugin import ConformanceCheck
from listwatch_conformance.properties.report import CLIENT_RECORD_KEY
from listwatch_conformance.properties.stash import CLIENT_KEY, CLIENT_SELECTED
from listwatch_conformance.sut.clients.loading import BUILTIN, ClientSpecError, probe_client, resolve_client


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch", "list-watch conformance")
    group.addoption("--client", default=None, metavar="CLIENT",
                    help="check a client library instead of a backend: a built-in name "
                         f"({', '.join(BUILTIN)}) or MODULE:NAME, where NAME() returns a fresh adapter "
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


class ClientConformanceCheck(ConformanceCheck):
    """:class:`~listwatch_conformance.properties.plugin.ConformanceCheck` for the client machine: the
    same campaign, rendering, rerun line and report record, with the client guarantees and ``--client``."""

    record_key = CLIENT_RECORD_KEY
    nothing_checked = "none of the selected guarantees is a client guarantee checked by the machine"

    def checked(self, capabilities=None) -> frozenset[CG]:
        config = self.request.config
        checked = (config.stash[CLIENT_SELECTED] or frozenset(CG)) - {CG.BoundedRetries}
        chosen = config.stash[CLIENT_KEY]
        if checked and chosen is not None and not chosen[2].observable_view:
            checked &= REQUEST_LEVEL  # its view is not observable: only its requests are judged
            if not checked:
                pytest.skip("the client's view is not observable (observable_view=False): only its requests are "
                            f"judged, for {', '.join(sorted(g.name for g in REQUEST_LEVEL))}")
        return checked

    def run(self, machine_for, capabilities=None, settings=None):
        return super().run(machine_for, capabilities, settings)

    def _target_options(self) -> list[str]:
        return ["--client", self.request.config.getoption("--client")]

    def record_bounded_retries(self, fault: str, violation) -> None:
        """BoundedRetries is a rate measured by its own test, not a campaign: its verdict for the report."""
        findings = [] if violation is None else [{
            "guarantee": violation.guarantee.name, "message": str(violation).split("\n")[0],
            "expected": violation.expected_text, "observed": violation.observed_text, "text": violation.render(),
            "program": [f"persistent fault {fault!r} for the test's window"], "reproduce": None,
            "rerun": f"pytest {self.request.node.nodeid} --client {self.request.config.getoption('--client')}",
            "flaky": False}]
        record = {"test": self.request.node.nodeid, "checked": [CG.BoundedRetries.name], "complete": True,
                  "passed": [] if findings else [CG.BoundedRetries.name], "fault": None, "searches": [],
                  "findings": findings}
        self.request.node.user_properties.append((self.record_key, json.dumps(record)))


@pytest.fixture
def client_conformance(request: pytest.FixtureRequest) -> ClientConformanceCheck:
    return ClientConformanceCheck(request)
