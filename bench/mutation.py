"""Mutation score of the conformance suite against the reference backend, with cosmic-ray.

cosmic-ray (``cosmic-ray init``) enumerates every mutation its core operators make in
``sut/memory.py`` and ``sut/filtering.py``; the script samples them (``--sample N --seed S``,
or all), and runs each mutant the way a user runs the suite:

    python -m pytest properties --sut memory -p no:cacheprovider -n 0 -x -q --hypothesis-profile ci

(``CI`` unset; the ``ci`` profile is derandomized, so every mutant sees the same programs until it
diverges), in its own process group, killed at ``--timeout`` seconds (60). Each mutant runs in a
scratch copy of the checkout whose ``listwatch_conformance`` package points at the copy's own
``model/``, ``sut/`` and ``properties/`` (checked before the run), so the checkout is never
mutated and the installed package is not the one tested. Verdicts: exit 0 is *survived*, any
other exit *killed* (the exit status is kept), the deadline *timeout*.

Survivors reviewed against DESIGN.md are listed in ``bench/mutation-reviewed.toml`` as
*equivalent* (no observable change) or *allowed* (a behaviour the contract permits), each with a
one-line reason, keyed by file, enclosing definition, and the source line before and after
(not by cosmic-ray's run-specific ids or line numbers). Score = killed / (run - equivalent -
allowed). Every survivor's diff goes to the report, the reviewed ones under their reason. A timeout
may be reviewed too, as *no-in-process-verdict* (the mutant holds the GIL inside one bytecode, so no
deadline in the suite's process can end it): it is reported apart, and still counts against the score.

    python bench/mutation.py [--sample 150 --seed 0] [--files sut/memory.py ...] [--workers 2]
                             [--timeout 60] [--out bench/results/mutation.md]
    python bench/mutation.py --smoke [--out TMP.md]   # 2 mutants of sut/filtering.py, bench-smoke profile
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from publish import output_path, publish  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = Path(__file__).resolve().parent / "mutation-reviewed.toml"
FILES = ["sut/memory.py", "sut/filtering.py"]
SUBPACKAGES = ("model", "properties", "sut")  # listwatch_conformance.<name> lives in <name>/ (pyproject)
IGNORE = shutil.ignore_patterns(".git", ".hypothesis", "__pycache__", "*.egg-info", "results", "mutants",
                                ".pytest_cache", "build", "dist")


def pytest_command(profile_args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "properties", "--sut", "memory", "-p", "no:cacheprovider",
            "-n", "0", "-x", "-q", *profile_args]


@dataclass
class Mutant:
    file: str
    operator: str
    occurrence: int
    where: str  # the enclosing def or class, as cosmic-ray names it
    line: int = 0
    before: str = ""
    after: str = ""
    diff: str = ""
    mutated: str = ""
    verdict: str = ""  # killed, survived, timeout
    status: int | None = None
    seconds: float = 0.0
    tail: str = ""
    unshrunk: dict = field(default_factory=dict)  # a timeout's rerun without the shrink phase (diagnose)
    review: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.file, self.where, self.before.strip(), self.after.strip())

    def title(self) -> str:
        return f"{self.file}:{self.line} in `{self.where}` ({self.operator.removeprefix('core/')} #{self.occurrence})"


def load() -> float:
    return os.getloadavg()[0]


RUNNING: set[int] = set()  # process groups of the runs in progress, killed if the script is stopped


def stop(signum, _frame) -> None:
    """SIGTERM or SIGINT: kill every run in progress with its process group, then exit."""
    for pgid in list(RUNNING):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(128 + signum)


def run(cmd: list[str], cwd: Path, env: dict, deadline: float) -> tuple[int | None, str, float]:
    """Run ``cmd`` in its own process group; kill the group at ``deadline`` s (status None)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    RUNNING.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=deadline)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        status = None
    finally:
        if proc.poll() is None:  # interrupted: leave nothing running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        try:  # threads or children the run left behind in its group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        RUNNING.discard(proc.pid)
    return status, out, time.monotonic() - start


NOSHRINK, NOSHRINK_MODULE = "ci-noshrink", "_mutation_noshrink"
NOSHRINK_PLUGIN = f"""\"\"\"bench/mutation.py's diagnosis of timeouts: the ci profile without its shrink phase.\"\"\"
from hypothesis import Phase, settings
from listwatch_conformance.properties.profiles import PROFILES
settings.register_profile({NOSHRINK!r}, settings(PROFILES["ci"], phases=[p for p in PROFILES["ci"].phases if p is not Phase.shrink]))
"""


def scratch_copy(dest: Path) -> Path:
    """A copy of the checkout whose ``listwatch_conformance`` package holds the copy's own subpackages
    (and the pytest plugin of the profile ``ci-noshrink``, for :func:`diagnose`)."""
    shutil.copytree(ROOT, dest, ignore=IGNORE, symlinks=True)
    (dest / f"{NOSHRINK_MODULE}.py").write_text(NOSHRINK_PLUGIN)
    for name in SUBPACKAGES:
        link = dest / "listwatch_conformance" / name
        if not link.exists():
            link.symlink_to(Path("..") / name)
    return dest


def test_env(copy: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k != "CI" and not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "HYPOTHESIS"))}
    env["PYTHONPATH"] = str(copy)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant written in the same second must not reuse a stale .pyc
    return env


def enumerate_mutants(copy: Path, files: list[str]) -> list[Mutant]:
    """Every mutation cosmic-ray's ``init`` makes in ``files``, in a fixed order."""
    from cosmic_ray.work_db import WorkDB

    work = copy.parent / "cosmic-ray"
    work.mkdir(exist_ok=True)
    config = work / "config.toml"
    paths = ", ".join(f'"{f}"' for f in files)
    config.write_text(f'[cosmic-ray]\nmodule-path = [{paths}]\ntimeout = 60.0\nexcluded-modules = []\n'
                      f'test-command = "false"\n[cosmic-ray.distributor]\nname = "local"\n')
    session = work / "session.sqlite"
    status, out, _ = run([str(Path(sys.executable).parent / "cosmic-ray"), "init", str(config), str(session)],
                         copy, test_env(copy), 300)
    if status != 0:
        raise SystemExit(f"cosmic-ray init failed ({status}):\n{out[-2000:]}")
    db = WorkDB(str(session), WorkDB.Mode.open)
    try:
        specs = [item.mutations[0] for item in db.work_items]
    finally:
        db.close()
    annotations = {f: annotation_spans((copy / f).read_text()) for f in files}
    mutants = [Mutant(str(s.module_path), s.operator_name, s.occurrence, s.definition_name or "<module>")
               for s in specs if not any(a <= tuple(s.start_pos) < b for a, b in annotations[str(s.module_path)])]
    return sorted(mutants, key=lambda m: (files.index(m.file), m.operator, m.occurrence)), len(specs) - len(mutants)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(line, column) spans of every annotation: under ``from __future__ import annotations`` (which
    every module of the package has) an annotation is never evaluated, so its mutants are equivalent
    by construction and are left out before sampling (and counted apart)."""
    tree = ast.parse(source)
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in tree.body):
        return []
    nodes = []
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns is not None:
            nodes.append(n.returns)
        elif isinstance(n, ast.arg) and n.annotation is not None:
            nodes.append(n.annotation)
        elif isinstance(n, ast.AnnAssign):
            nodes.append(n.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in nodes]


def materialize(m: Mutant, sources: dict[str, str]) -> None:
    """Fill in the mutated source, its diff and its identity (the changed line before and after)."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    original = sources[m.file]
    mutated = mutate_code(original, cosmic_ray.plugins.get_operator(m.operator)(), m.occurrence)
    if mutated is None:
        raise SystemExit(f"cosmic-ray made no mutation for {m.title()}")
    m.mutated = mutated
    old, new = original.splitlines(), mutated.splitlines()
    opcodes = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
    _, i1, i2, j1, j2 = opcodes[0]
    m.line = i1 + 1
    m.before = "\n".join(old[i1:i2])
    m.after = "\n".join(new[j1:j2])
    m.diff = "".join(difflib.unified_diff(original.splitlines(True), mutated.splitlines(True),
                                          f"a/{m.file}", f"b/{m.file}", n=2))


VERDICTS = ("equivalent", "allowed")  # reviewed survivors, left out of the score's denominator
# a reviewed timeout that no in-process harness can judge (the mutant holds the GIL in one bytecode): it
# stays in the denominator, not killed, and is reported apart from the timeouts the suite could end
NO_VERDICT = "no-in-process-verdict"


def read_reviewed(path: Path) -> dict[tuple[str, str, str, str], dict]:
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text()).get("mutant", [])
    reviewed = {}
    for e in entries:
        if e.get("verdict") not in (*VERDICTS, NO_VERDICT) or not e.get("reason"):
            raise SystemExit(f"{path}: every entry needs verdict = {'|'.join((*VERDICTS, NO_VERDICT))} and a reason: {e}")
        reviewed[(e["file"], e["where"], e["before"].strip(), e["after"].strip())] = e
    return reviewed


def test_mutant(m: Mutant, copy: Path, cmd: list[str], timeout: float) -> tuple[str, int | None, float, str]:
    """Run ``cmd`` with ``m`` applied in ``copy``: (verdict, exit status, seconds, the output's last lines)."""
    target = copy / m.file
    original = target.read_text()
    target.write_text(m.mutated)
    try:
        status, out, seconds = run(cmd, copy, test_env(copy), timeout)
    finally:
        target.write_text(original)
    verdict = "timeout" if status is None else "survived" if status == 0 else "killed"
    return verdict, status, seconds, "\n".join(out.strip().splitlines()[-3:])


def run_all(mutants: list[Mutant], copies: list[Path], cmd: list[str], timeout: float, done) -> None:
    """Test every mutant, one a copy at a time; ``done(m, result)`` as each finishes."""
    free, queue, pending = list(copies), list(mutants), {}
    with concurrent.futures.ThreadPoolExecutor(len(copies)) as pool:
        while queue or pending:
            while queue and free:
                m, copy = queue.pop(0), free.pop()
                pending[pool.submit(test_mutant, m, copy, cmd, timeout)] = (m, copy)
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in finished:
                m, copy = pending.pop(fut)
                free.append(copy)
                done(m, fut.result())


def diagnose(mutants: list[Mutant], copies: list[Path], cmd: list[str], timeout: float) -> None:
    """Run each timeout again without Hypothesis's shrink phase (the profile's search unchanged): a kill
    then says the suite found the bug and the limit went on shrinking it; no kill, that it found nothing."""
    timeouts = [m for m in mutants if m.verdict == "timeout"]
    plain = cmd[:-1] + [NOSHRINK]
    plain[plain.index("--hypothesis-profile"):plain.index("--hypothesis-profile")] = ["-p", NOSHRINK_MODULE]

    def done(m: Mutant, result) -> None:
        verdict, _, seconds, _ = result
        m.unshrunk = {"verdict": verdict, "seconds": round(seconds, 1)}
        print(f"without shrinking: {verdict:8} {seconds:5.1f} s  {m.title()}", file=sys.stderr)

    run_all(timeouts, copies, plain, timeout, done)


def check_copy(copy: Path, files: list[str]) -> None:
    """The run must import the copy's modules, never the installed checkout's."""
    mods = [f"listwatch_conformance.{f.removesuffix('.py').replace('/', '.')}" for f in files]
    code = "import importlib, sys\nfor m in sys.argv[1:]: print(importlib.import_module(m).__file__)"
    status, out, _ = run([sys.executable, "-c", code, *mods], copy, test_env(copy), 60)
    paths = [Path(p).resolve() for p in out.split()]
    want = [(copy / f).resolve() for f in files]
    if status != 0 or paths != want:
        raise SystemExit(f"the scratch copy does not import its own {files}: {out.strip()}")


def fence(text: str, lang: str = "diff") -> list[str]:
    return [f"```{lang}", text.rstrip("\n"), "```"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="+", default=None, help=f"files to mutate (default: {' '.join(FILES)})")
    parser.add_argument("--sample", type=int, default=None, help="run N mutants sampled at random (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a mutant's run may take")
    parser.add_argument("--workers", type=int, default=1, help="mutants run at once (each in its own copy)")
    parser.add_argument("--reviewed", type=Path, default=REVIEWED)
    parser.add_argument("--out", default=None)
    parser.add_argument("--smoke", action="store_true",
                        help="2 mutants of sut/filtering.py under the bench-smoke profile; report to a temp dir")
    parser.add_argument("--rescore", type=Path, default=None, metavar="RUN.json",
                        help="run nothing: report the verdicts saved beside an earlier report under the current review")
    parser.add_argument("--diagnose", action="store_true",
                        help="with --rescore: run the saved timeouts again without shrinking (a full run always does)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    out = output_path(args.out, args.smoke, "mutation.md")
    if args.rescore:
        return rescore(args.rescore, args.reviewed, out, sys.argv[1:] if argv is None else argv, args.diagnose,
                       args.workers)
    if args.smoke:
        args.files = args.files or ["sut/filtering.py"]
        args.sample = 2 if args.sample is None else args.sample
        profile = ["-p", "bench.smoke_profile", "--hypothesis-profile", "bench-smoke"]
        args.timeout = min(args.timeout, 10.0)  # a smoke run checks the script, not the suite's verdict time
    else:
        profile = ["--hypothesis-profile", "ci"]
    files = args.files or FILES
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        raise SystemExit("bench/mutation.py needs cosmic-ray: pip install -e '.[bench]'") from None
    cmd = pytest_command(profile)
    reviewed = read_reviewed(args.reviewed)
    started = time.monotonic()
    loads = [load()]

    with tempfile.TemporaryDirectory(prefix="listwatch-mutation-") as tmp:
        copies = [scratch_copy(Path(tmp) / f"copy{i}") for i in range(max(1, args.workers))]
        check_copy(copies[0], files)
        mutants, in_annotations = enumerate_mutants(copies[0], files)
        total = len(mutants)
        per_file = {f: sum(m.file == f for m in mutants) for f in files}
        sources = {f: (ROOT / f).read_text() for f in files}
        wanted = total if args.sample is None else min(args.sample, total)
        if wanted < total:  # draw in a seeded order until enough mutants could be made
            mutants = random.Random(args.seed).sample(mutants, total)
        chosen, unmade, uncompiled = [], [], 0
        for m in mutants:
            if len(chosen) == wanted:
                break
            try:
                materialize(m, sources)
            except Exception as exc:  # noqa: BLE001 - a cosmic-ray operator that cannot apply here
                unmade.append(f"{m.title()}: {type(exc).__name__}: {exc}")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # SyntaxWarning: `is` with a literal, which the mutants make
                    compile(m.mutated, m.file, "exec")
            except SyntaxError:  # e.g. the bare `*` of keyword-only parameters made `**`: tests nothing
                uncompiled += 1
                continue
            chosen.append(m)
        mutants = sorted(chosen, key=lambda m: (files.index(m.file), m.operator, m.occurrence))

        print(f"baseline: {shlex.join(cmd)}", file=sys.stderr)
        limit = max(args.timeout, 60.0)  # the smoke run's short limit is for mutants; a slow machine still passes
        status, output, baseline = run(cmd, copies[0], test_env(copies[0]), limit)
        if status != 0:
            raise SystemExit(f"the unmutated suite does not pass in {limit:g} s (exit {status}):\n"
                             f"{output[-3000:]}")
        print(f"baseline passed in {baseline:.1f} s; {len(mutants)} of {total} mutants", file=sys.stderr)

        count = iter(range(1, len(mutants) + 1))

        def done(m: Mutant, result) -> None:
            m.verdict, m.status, m.seconds, m.tail = result
            loads.append(load())
            print(f"[{next(count)}/{len(mutants)}] {m.verdict:8} {m.seconds:5.1f} s  {m.title()}: "
                  f"{m.before.strip()!r} -> {m.after.strip()!r}", file=sys.stderr)

        run_all(mutants, copies, cmd, args.timeout, done)
        if not args.smoke and profile[-1] == "ci":
            diagnose(mutants, copies, cmd, args.timeout)
    raw = {"argv": sys.argv[1:] if argv is None else argv, "cmd": cmd, "elapsed": time.monotonic() - started,
           "baseline": baseline, "loads": loads, "total": total, "per_file": per_file,
           "in_annotations": in_annotations, "unmade": unmade, "uncompiled": uncompiled, "workers": len(copies), "timeout": args.timeout,
           "when": time.strftime("%Y-%m-%d %H:%M %Z"), "node": platform.node(), "cores": os.cpu_count(),
           "tool": f"cosmic-ray {version('cosmic-ray')}", "hypothesis": version("hypothesis"),
           "pytest": version("pytest"), "python": platform.python_version(),
           "mutants": [{k: v for k, v in vars(m).items() if k not in ("mutated", "review")} for m in mutants]}
    if out is not None:  # the raw verdicts beside the report: a new review re-scores them (--rescore)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
    publish(render(raw, reviewed, args.reviewed), out)
    return 0


def render(raw: dict, reviewed: dict, reviewed_path: Path, rescored: str | None = None) -> list[str]:
    """The Markdown report of one run's verdicts, survivors classified by the reviewed list."""
    mutants = [Mutant(**m) for m in raw["mutants"]]
    for m in mutants:
        review = reviewed.get(m.key, {})
        if (m.verdict == "survived" and review.get("verdict") in VERDICTS
                or m.verdict == "timeout" and review.get("verdict") == NO_VERDICT):
            m.review = review
    killed = [m for m in mutants if m.verdict == "killed"]
    survived = [m for m in mutants if m.verdict == "survived"]
    unjudgeable = [m for m in mutants if m.verdict == "timeout" and m.review]
    timeouts = [m for m in mutants if m.verdict == "timeout" and not m.review]
    equivalent = [m for m in survived if m.review.get("verdict") == "equivalent"]
    allowed = [m for m in survived if m.review.get("verdict") == "allowed"]
    real = [m for m in survived if not m.review]
    denominator = len(mutants) - len(equivalent) - len(allowed)
    score = f"{len(killed) / denominator:.1%}" if denominator else "n/a"
    times = [m.seconds for m in mutants]
    loads, total, unmade, argv = raw["loads"], raw["total"], raw["unmade"], raw["argv"]
    seed = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--seed"), "0")
    typed = shlex.join(["python", "bench/mutation.py", *argv])
    lines = [
        "# Mutation score of the conformance suite on the reference backend",
        "",
        f"- command: `{typed}`" + (f"; re-scored with the current review by `{rescored}`" if rescored else ""),
        f"- tool: {raw['tool']} (its core operators, enumerated by `cosmic-ray init`; each mutant made with "
        f"`cosmic_ray.mutating.mutate_code` in a scratch copy of the checkout), Hypothesis {raw['hypothesis']}, "
        f"pytest {raw['pytest']}, Python {raw['python']}",
        f"- each mutant: `{shlex.join(['python', *raw['cmd'][1:]])}` (CI unset), killed with its process group "
        f"after {raw['timeout']:g} s; {raw['workers']} at a time",
        f"- machine: {raw['node']}, {raw['cores']} cores shared with other jobs, load (1 min) "
        f"{min(loads):.1f}-{max(loads):.1f} during the run; {raw['when']}",
        f"- mutants: {total} in {', '.join(f'`{f}` ({n})' for f, n in raw['per_file'].items())}, besides "
        f"{raw['in_annotations']} in annotations (never evaluated under `from __future__ import annotations`: "
        "left out); run " + (f"{len(mutants)} sampled with seed {seed}" if len(mutants) < total
                             else f"all {len(mutants)}"),
        f"- drawn and left out because the mutant does not compile (a syntax error tests nothing): "
        f"{raw.get('uncompiled', 0)}",
        *(f"- cosmic-ray could not make {len(unmade)} drawn mutant(s), skipped: " + "; ".join(unmade),)[:bool(unmade)],
        f"- reviewed survivors: `{os.path.relpath(reviewed_path, ROOT)}` ({len(reviewed)} entries)",
        f"- time: {raw['elapsed'] / 60:.1f} min in all; the unmutated baseline {raw['baseline']:.1f} s; a mutant "
        f"{statistics.median(times) if times else 0:.1f} s median, {max(times, default=0):.1f} s at most",
        "",
        "| run | killed | survived | timeout | no in-process verdict | equivalent | allowed | real survivors | score |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {len(mutants)} | {len(killed)} | {len(survived)} | {len(timeouts)} | {len(unjudgeable)} | {len(equivalent)} "
        f"| {len(allowed)} | {len(real)} | {len(killed)}/{denominator} = {score} |",
        "",
        "score = killed / (run - equivalent - allowed); a timeout counts against it, and so does a reviewed "
        f"timeout that no in-process harness can judge (`{NO_VERDICT}` in the reviewed list).",
        *(f"Run again without Hypothesis's shrink phase (the same derandomized search), {found} of the "
          f"{len(timeouts)} timeouts were killed within the limit: the suite found the bug, and the time went "
          "to shrinking it." for found in [sum(m.unshrunk.get("verdict") == "killed" for m in timeouts)]
          if any(m.unshrunk for m in timeouts)),
        "",
        "| operator | run | killed | survived | timeout |",
        "|---|---|---|---|---|",
    ]
    def family(m: Mutant) -> str:
        return m.operator.removeprefix("core/").split("_")[0]
    for op in sorted({family(m) for m in mutants}):
        group = [m for m in mutants if family(m) == op]
        lines.append(f"| {op} | {len(group)} | {sum(m.verdict == 'killed' for m in group)} "
                     f"| {sum(m.verdict == 'survived' for m in group)} | {sum(m.verdict == 'timeout' for m in group)} |")
    for heading, group in (("Real survivors (not in the reviewed list)", real), ("Timeouts", timeouts),
                           ("Timeouts no in-process harness can judge (reviewed, counted against the score)",
                            unjudgeable),
                           ("Allowed survivors", allowed), ("Equivalent survivors", equivalent)):
        lines += ["", f"## {heading}: {len(group)}"]
        for m in group:
            lines += ["", f"### {m.title()}, {m.seconds:.1f} s"]
            if m.unshrunk:
                lines += ["", f"without the shrink phase: {m.unshrunk['verdict']} in {m.unshrunk['seconds']:.1f} s"]
            if m.review:
                lines += ["", f"{m.review['verdict']}: {m.review['reason']}"]
            lines += ["", *fence(m.diff)]
    return lines


def rescore(path: Path, reviewed_path: Path, out: Path | None, argv: list[str], rediagnose: bool,
            workers: int) -> int:
    raw = json.loads(path.read_text())
    if rediagnose:  # the saved timeouts, run again without shrinking; the verdicts saved back
        mutants = [Mutant(**m) for m in raw["mutants"]]
        sources = {f: (ROOT / f).read_text() for f in raw["per_file"]}
        timeouts = [m for m in mutants if m.verdict == "timeout"]
        for m in timeouts:
            diff = m.diff
            materialize(m, sources)
            if m.diff != diff:
                raise SystemExit(f"{m.title()} is not the mutant the run made: {m.file} has changed since")
        with tempfile.TemporaryDirectory(prefix="listwatch-mutation-") as tmp:
            copies = [scratch_copy(Path(tmp) / f"copy{i}") for i in range(max(1, workers))]
            check_copy(copies[0], list(raw["per_file"]))
            diagnose(timeouts, copies, raw["cmd"], raw["timeout"])
        raw["mutants"] = [{k: v for k, v in vars(m).items() if k not in ("mutated", "review")} for m in mutants]
        path.write_text(json.dumps(raw, indent=1) + "\n")
    typed = shlex.join(["python", "bench/mutation.py", *argv])
    publish(render(raw, read_reviewed(reviewed_path), reviewed_path, rescored=typed), out)
    return 0

if __name__ == "__main__":
    sys.exit(main())
