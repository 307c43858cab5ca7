"""The conformance report: one JSON document (schema below) and its Markdown rendering.

Schema ``listwatch-conformance-report/1`` (additions keep the number; changes bump it)::

    schema          "listwatch-conformance-report/1"
    generated       UTC time, ISO 8601
    suite           {name, version}: this suite
    backend         {sut: the --sut value, name?, version?: what the backend declares}
    capabilities    the backend's declared listwatch_conformance.sut.api.Capabilities, field by field
    hypothesis      {version, profile, derandomize, seed, max_examples, stateful_step_count}
    wait_budget     seconds (--wait-budget)
    selected        guarantee names given with --guarantee ([] means all)
    outcome         passed | failed | error | not-run
    exit_status     pytest's exit status (0 passed, 1 failed, ...)
    guarantees      one entry per guarantee, in the order of DESIGN.md:
                      {name, meaning, status, reason?, counterexamples: [...]}
                    status is passed, failed, not-applicable (reason names the capability),
                    not-selected, or not-run (reason says why: an error, a stopped search, no
                    complete search)
    runs            one entry per conformance test: {test, checked, complete, stopped, passed, fault,
                    searches: [{checked, examples, valid, shrink_steps, seconds,
                    stopped_because, found}], findings: [counterexample...]}
    counterexample  {guarantee, test, message, expected, observed, text, program: [lines],
                    reproduce: blob, rerun: command line, flaky}
    client          only with --client: {client: the --client value, name?, version?,
                    capabilities: the adapter's ClientCapabilities, selected, guarantees: one
                    entry per client guarantee (CLIENTS.md) as above, runs: as above (a
                    BoundedRetries test is a run with one check and no searches)}; the server's
                    guarantees are then not-run, and ``outcome`` covers both
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import attrs
import hypothesis

from listwatch_conformance.model.client_guarantees import REQUEST_LEVEL, ClientGuarantee
from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.properties.verdicts import not_applicable_reason

SCHEMA = "listwatch-conformance-report/1"
RECORD_KEY = "listwatch-conformance"  # the user property carrying a test's campaign record
CLIENT_RECORD_KEY = "listwatch-conformance-client"  # the same for a client run (the report's client section)
SUITE = "listwatch-conformance"


@attrs.frozen
class SessionInfo:
    sut: str
    backend: Mapping[str, str]
    capabilities: object
    selected: frozenset
    profile: str
    settings: object
    seed: object
    wait_budget: float
    exit_status: int


def _suite_version() -> str:
    try:
        return metadata.version(SUITE)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


@attrs.frozen
class ClientInfo:
    """The client under test (``--client``), for the report's client section."""

    spec: str
    info: Mapping[str, str]
    capabilities: object
    selected: frozenset


def _client_not_applicable(g: ClientGuarantee, capabilities) -> str | None:
    if not capabilities.observable_view and g not in REQUEST_LEVEL:
        return "observable_view: False: only the client's requests can be judged"
    if g is ClientGuarantee.NoDuplicateEvents and capabilities.cache:
        return "cache: an informer's store is checked, not its callbacks (CLIENTS.md)"
    return None


def _status(g, info, runs: list[dict], reason: str | None = None) -> dict:
    entry: dict = {"name": g.name, "meaning": g.meaning, "counterexamples": []}
    for run in runs:
        entry["counterexamples"] += [dict(f, test=run["test"]) for f in run["findings"] if f["guarantee"] == g.name]
    if entry["counterexamples"]:
        entry["status"] = "failed"
    elif reason:
        entry.update(status="not-applicable", reason=reason)
    elif info.selected and g not in info.selected:
        entry.update(status="not-selected", reason="not named with --guarantee")
    elif any(g.name in run["checked"] for run in runs) and all(g.name in run["passed"] for run in runs
                                                               if g.name in run["checked"]):
        entry["status"] = "passed"
    else:
        faults = [run["fault"] for run in runs if run["fault"]]
        stops = [run["stopped"] for run in runs if run.get("stopped")]
        why = (f"the run ended before a verdict: {faults[0]}" if faults else
               f"the search stopped before a verdict: {stops[0]}" if stops else
               "no conformance test ran" if not runs else "no complete search checked it")
        entry.update(status="not-run", reason=why)
    return entry


def build_report(info: SessionInfo, runs: list[dict], client: ClientInfo | None = None,
                 client_runs: list[dict] = ()) -> dict:
    """The report document for a session whose conformance tests recorded ``runs`` (and, with
    ``--client``, whose client tests recorded ``client_runs``)."""
    guarantees = [_status(g, info, runs, not_applicable_reason(g, info.capabilities)) for g in G]
    client_guarantees = [] if client is None else [
        _status(g, client, list(client_runs), _client_not_applicable(g, client.capabilities)) for g in ClientGuarantee]
    every_run = [*runs, *client_runs]
    statuses = {e["status"] for e in [*guarantees, *client_guarantees]}
    outcome = ("failed" if "failed" in statuses else "error" if any(r["fault"] for r in every_run)
               else "not-run" if not every_run else "passed")
    s = info.settings
    report = {
        "schema": SCHEMA,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "suite": {"name": SUITE, "version": _suite_version()},
        "backend": {"sut": info.sut, **info.backend},
        "capabilities": attrs.asdict(info.capabilities),
        "hypothesis": {"version": hypothesis.__version__, "profile": info.profile, "derandomize": s.derandomize,
                       "seed": info.seed, "max_examples": s.max_examples,
                       "stateful_step_count": s.stateful_step_count},
        "wait_budget": info.wait_budget,
        "selected": sorted(g.name for g in info.selected),
        "outcome": outcome,
        "exit_status": info.exit_status,
        "guarantees": guarantees,
        "runs": runs,
    }
    if client is not None:
        report["client"] = {"client": client.spec, **client.info, "capabilities": attrs.asdict(client.capabilities),
                            "selected": sorted(g.name for g in client.selected), "guarantees": client_guarantees,
                            "runs": list(client_runs)}
    return report


def render_markdown(report: dict) -> str:
    """A page an implementer can publish: summary, capability table, verdicts, counterexamples."""
    backend = report["backend"]
    title = backend.get("name") or backend["sut"]
    if backend.get("version"):
        title += f" {backend['version']}"
    client = report.get("client")
    show_server = client is None or bool(report["runs"])  # with --client alone, the server's part is all not-run
    counts: dict[str, int] = {}
    for entry in [*(report["guarantees"] if show_server else []), *(client["guarantees"] if client else [])]:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    hyp = report["hypothesis"]
    lines = [
        f"# List-watch conformance: {title}", "",
        f"**Outcome: {report['outcome']}** ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}); "
        f"pytest exit status {report['exit_status']}.", "",
        f"- Backend: `--sut {backend['sut']}`" + (f", {backend['name']}" if backend.get("name") else "")
        + (f" {backend['version']}" if backend.get("version") else ""),
        f"- Suite: {report['suite']['name']} {report['suite']['version']}; report schema `{report['schema']}`",
        f"- Hypothesis {hyp['version']}, profile `{hyp['profile']}` (max_examples={hyp['max_examples']}, "
        f"stateful_step_count={hyp['stateful_step_count']}, derandomize={hyp['derandomize']}, "
        f"seed={hyp['seed']}); wait budget {report['wait_budget']} s",
        f"- Generated {report['generated']}",
    ]
    if show_server:
        lines += _verdict_sections(report, "")
    if client is not None:
        name = " ".join(filter(None, (client.get("name"), client.get("version")))) or client["client"]
        lines += ["", f"## Client: {name}", "", f"- Client: `--client {client['client']}`"]
        lines += _verdict_sections(client, "#")
    return "\n".join(lines) + "\n"


def _verdict_sections(part: dict, deeper: str) -> list[str]:
    """Capabilities, verdicts, runs and counterexamples of the server part or the client part."""
    lines = ["", f"#{deeper}# Capabilities", "", "| capability | declared |", "|---|---|",
             *(f"| {k} | {v} |" for k, v in part["capabilities"].items()), "",
             f"#{deeper}# Guarantees", "", "| guarantee | verdict | meaning |", "|---|---|---|"]
    for entry in part["guarantees"]:
        verdict = entry["status"] + (f" ({entry['reason']})" if entry.get("reason") else "")
        lines.append(f"| {entry['name']} | {verdict} | {entry['meaning']} |")
    runs = part["runs"]
    if runs:
        lines += ["", f"#{deeper}# Runs", "", "| test | searches | examples | seconds | verdicts |", "|---|---|---|---|---|"]
        for run in runs:
            searches = run["searches"]
            verdict = run["fault"] or (f"{len(run['findings'])} broken" if run["findings"] else "all passed")
            lines.append(f"| `{run['test']}` | {len(searches)} | {sum(s['examples'] for s in searches)} | "
                         f"{sum(s['seconds'] for s in searches):.1f} | {verdict} |")
    failures = [c for entry in part["guarantees"] for c in entry["counterexamples"]]
    if failures:
        lines += ["", f"#{deeper}# Counterexamples"]
        for c in failures:
            lines += ["", f"##{deeper}# {c['guarantee']}" + (" (flaky: did not fail again on replay)" if c["flaky"] else ""),
                      "", f"{c['message']}", "", f"- expected: `{c['expected']}`", f"- observed: `{c['observed']}`",
                      "", "Shrunk program:", "", "```python", *c["program"], "```", "", c["rerun"]]
    return lines


def write_report(path: Path, info: SessionInfo, runs: list[dict], client: ClientInfo | None = None,
                 client_runs: list[dict] = ()) -> tuple[Path, Path]:
    """Write the JSON report to ``path`` and its Markdown to ``path`` with suffix .md."""
    report = build_report(info, runs, client, client_runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    md = path.with_suffix(".md") if path.suffix != ".md" else path.with_name(path.name + ".md")
    md.write_text(render_markdown(report))
    return path, md
