"""The pytest glue for conformance runs: ``--guarantee``, ``--reproduce``, ``--conformance-report``.

A conformance test asks the ``conformance`` fixture to check a machine; the fixture runs
a :func:`~listwatch_conformance.properties.campaign.run_campaign` with the options given, records the outcome on
the test's report (so it crosses pytest-xdist to the controller), and fails the test
with the first broken guarantee (the others follow as notes) or with the fault that
ended the run. At the end of the session the controller writes the report, if asked.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import attrs
import pytest

from listwatch_conformance.model.client_guarantees import ClientGuarantee
from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.properties.campaign import PROGRAM_HEADING, Campaign, program_lines, reproduce_blob, run_campaign
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendFault, BackendHang
from listwatch_conformance.properties.profiles import conformance_settings, profile_name
from listwatch_conformance.properties.report import CLIENT_RECORD_KEY, RECORD_KEY, ClientInfo, SessionInfo, write_report
from listwatch_conformance.properties.stash import BACKEND_INFO, CLIENT_KEY, CLIENT_SELECTED, SELECTED, SUT_KEY
from listwatch_conformance.properties.verdicts import applicable, parse_guarantee_names


# Options of the kube and etcd plugins that choose the backend, repeated in the rerun line
_BACKEND_OPTIONS = ("--kube-url", "--kube-ca-file", "--kubeconfig", "--kube-context", "--kube-serve",
                    "--kube-no-extensions", "--kube-history", "--kube-no-initial-events", "--etcd-endpoint")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch", "list-watch conformance")
    group.addoption("--guarantee", action="append", default=[], metavar="NAME",
                    help="check only this guarantee (repeatable); violations of others make an example "
                         "inconclusive instead of failing it")
    group.addoption("--reproduce", default=None, metavar="BLOB",
                    help="replay exactly the example a failure printed (its reproduce blob), instead of searching")
    group.addoption("--conformance-report", default=None, metavar="PATH",
                    help="write the conformance report as JSON to PATH and as Markdown beside it (PATH.md)")


def pytest_configure(config: pytest.Config) -> None:
    try:
        client_names = {g.name.lower() for g in ClientGuarantee}  # taken by the client plugin
        config.stash[SELECTED] = parse_guarantee_names([n for n in config.getoption("--guarantee")
                                                        if n.lower() not in client_names])
    except ValueError as exc:
        raise pytest.UsageError(f"--guarantee: {exc}") from None
    path = config.getoption("--conformance-report")
    if path is not None and not hasattr(config, "workerinput"):  # xdist workers send records to the controller
        config.pluginmanager.register(_ReportWriter(config, Path(path)), "listwatch-conformance-report")


@attrs.define
class ConformanceCheck:
    """Runs a campaign for one test and turns its outcome into the test's verdict."""

    request: pytest.FixtureRequest
    record_key = RECORD_KEY  # the user property its campaign record goes under, for the report
    nothing_checked = "none of the selected guarantees applies to this backend's capabilities"

    def checked(self, capabilities) -> frozenset[G]:
        selected = self.request.config.stash[SELECTED] or frozenset(G)
        return selected & applicable(capabilities)

    def run(self, machine_for, capabilities, settings=None) -> Campaign:
        """Check ``machine_for(checked guarantees)`` with ``settings`` (default: the active profile)."""
        config = self.request.config
        checked = self.checked(capabilities)
        if not checked:
            pytest.skip(self.nothing_checked)
        campaign = run_campaign(machine_for, checked, settings or conformance_settings(), first_only=config.getoption("maxfail") == 1,
                                reproduce=config.getoption("--reproduce"))
        self.request.node.user_properties.append((self.record_key, json.dumps(self._record(campaign))))
        if campaign.replayed_clean:
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line("\n--reproduce: the example no longer fails; rerun without --reproduce to "
                                    "search again")
        if isinstance(campaign.fault, (BackendFault, BackendHang)):  # the message says it all; no traceback
            notes = getattr(campaign.fault, "__notes__", [])
            program = program_lines(notes)
            shown = [PROGRAM_HEADING, *program] if program else []
            pytest.fail("\n".join([str(campaign.fault), *shown, self.rerun_line(reproduce_blob(notes))]),
                        pytrace=False)
        if campaign.fault is not None:
            raise campaign.fault
        if campaign.findings:
            first, *others = campaign.findings
            violation = first.violation
            # Our own rendering of the program, not Hypothesis's notes: its heading changes between versions,
            # and its advice (decorate the test) does not fit a generated state machine; the rerun line replaces it
            violation.__notes__ = [PROGRAM_HEADING, *first.program, self.rerun_line(first.reproduce)]
            for other in others:
                violation.add_note(f"\nAlso broken: {other.violation}\n{PROGRAM_HEADING}\n" + "\n".join(other.program)
                                   + f"\n{self.rerun_line(other.reproduce)}")
            if campaign.stopped:
                left = sorted(g.name for g in campaign.checked - {f.guarantee for f in campaign.findings})
                violation.add_note(f"\nNot judged ({', '.join(left)}): the search stopped here, since {campaign.stopped}. "
                                   "Judge them one at a time with --guarantee NAME.")
            raise violation
        return campaign

    def rerun_line(self, blob: str | None) -> str:
        if blob is None:
            return "(Hypothesis gave no reproduce blob for this failure; rerun the same command)"
        config = self.request.config
        args = ["pytest", *self._test_argument(), *self._target_options(), "--hypothesis-profile", profile_name()]
        if config.getoption("--wait-budget") is not None:
            args += ["--wait-budget", str(HARNESS.wait_budget)]
        args.append(f"--reproduce={blob}")
        return f"Rerun exactly this counterexample: {shlex.join(args)}"

    def _target_options(self) -> list[str]:
        """The options that choose what is checked: the backend, the same one (never the token: logs are read)."""
        config = self.request.config
        args = ["--sut", config.getoption("--sut")]
        for option in _BACKEND_OPTIONS:
            value = config.getoption(option, None)
            if value is True:
                args.append(option)
            elif value not in (None, False):
                args += [option, str(value)]
        return args

    def _test_argument(self) -> list[str]:
        """This test, as an argument that selects it from the directory pytest was started in."""
        node = self.request.node
        here = self.request.config.invocation_params.dir
        if node.path.is_relative_to(here):  # a checkout: properties/test_conformance.py::test_...
            return [f"{node.path.relative_to(here).as_posix()}::{node.name}"]
        # an installed suite, run from the user's project: name it by module, not by path
        module = node.module.__name__
        return ["--pyargs", f"{module}::{node.name}"]

    def _record(self, campaign: Campaign) -> dict:
        return {
            "test": self.request.node.nodeid,
            "checked": sorted(g.name for g in campaign.checked),
            "complete": campaign.complete,
            "stopped": campaign.stopped,
            "passed": sorted(g.name for g in campaign.passed()),
            "fault": None if campaign.fault is None else f"{type(campaign.fault).__name__}: {campaign.fault}",
            "searches": [attrs.asdict(s) for s in campaign.searches],
            "findings": [{
                "guarantee": f.guarantee.name,
                "message": str(f.violation).split("\n")[0],
                "expected": f.violation.expected_text,
                "observed": f.violation.observed_text,
                "text": f.violation.render(),
                "program": list(f.program),
                "reproduce": f.reproduce,
                "rerun": self.rerun_line(f.reproduce),
                "flaky": f.flaky,
            } for f in campaign.findings],
        }


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> ConformanceCheck:
    """Check a conformance machine with the session's options (see :class:`ConformanceCheck`)."""
    return ConformanceCheck(request)


class _ReportWriter:
    """Collects the records of conformance tests (on the controller, under xdist) and writes the report."""

    def __init__(self, config: pytest.Config, path: Path):
        self.config, self.path, self.records, self.client_records = config, path, [], []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.records.extend(json.loads(value) for key, value in report.user_properties if key == RECORD_KEY)
            self.client_records.extend(json.loads(value) for key, value in report.user_properties
                                       if key == CLIENT_RECORD_KEY)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        spec, _, capabilities = config.stash[SUT_KEY]
        info = SessionInfo(
            sut=spec, backend=config.stash[BACKEND_INFO], capabilities=capabilities,
            selected=config.stash[SELECTED], profile=profile_name(),
            settings=conformance_settings(), seed=config.getoption("hypothesis_seed", None),
            wait_budget=HARNESS.wait_budget, exit_status=int(exitstatus))
        chosen = config.stash.get(CLIENT_KEY, None)
        client = None if chosen is None else ClientInfo(chosen[0], chosen[3], chosen[2], config.stash[CLIENT_SELECTED])
        json_path, md_path = write_report(self.path, info, self.records, client, self.client_records)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"conformance report: {json_path} and {md_path}")
