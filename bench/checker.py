"""Benchmark the checker's scaling: the time to check one watch stream, and one list, against
the model as the history grows from 10^3 to 10^6 writes.

The model (``model/``) is driven directly, without Hypothesis or a backend. A history of N
writes over N/10 objects in two namespaces (creates, label changes that move objects in and
out of the selector, deletes about one write in seven) is checked through the filter
``app=x`` by:

* ``watch rv=N (replay)``: a watch from the RV before the first write, fed every event the
  transition table gives for the N writes (``WatchModel.observe``), then ``owed()``;
* ``watch rv=None (live)``: a watch opened on the empty store while the N writes are
  acknowledged in batches of 100, each batch's events fed after it, as the state machine
  drains (only the ``observe``/``owed`` calls are timed);
* ``watch rv=None (initial state)``: a watch opened after the N writes, fed the ADDED events
  of the final filtered state in shuffled order (about N/23 events), then ``owed()``;
* ``watch rv=0 (initial state)``: the same stream on a watch from rv=0, which may start from
  any of the N+1 states (a stale cache), so the model starts with N+1 candidates;
* ``list rv=None``: ``ListModel.first_page`` with the final filtered state;
* ``list rv=mid Exact``: an exact list at the RV of write N/2, with the state there.

Every check must pass (a violation stops the benchmark). Each size is timed ``--repeats``
times (wall clock and process CPU time) and the medians are reported, with the cost per
write; linear scaling shows as a flat cost per write. The plot (log-log CPU time, which other
processes on a shared machine disturb less than wall time, with a slope-1 guide) goes to
``--plot``. Nothing here asserts on time.

``--smoke`` is a check that the benchmark still runs, not a measurement: 10^3 and 3x10^3
writes, one repeat, the table written to a temporary directory (or ``--out``, never under
bench/results/); the plot only with ``--plot``, which needs matplotlib (the ``bench`` extra).

    python bench/checker.py [--max 1000000] [--repeats 3] [--out bench/results/checker.md]
                            [--plot docs/checker-scaling.png] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from listwatch_conformance.model.history import History  # noqa: E402
from listwatch_conformance.model.lists import EXACT, ListModel, ListSpec  # noqa: E402
from listwatch_conformance.model.objects import ADDED, Ev, Obj  # noqa: E402
from listwatch_conformance.model.retention import Retention  # noqa: E402
from listwatch_conformance.model.selectors import Filter  # noqa: E402
from listwatch_conformance.model.transitions import event_for  # noqa: E402
from listwatch_conformance.model.watch import WatchModel, WatchSpec  # noqa: E402

from publish import output_path, publish  # noqa: E402 (bench/publish.py; the script's directory is on sys.path)

FILTER = Filter(None, "app=x")
FIRST_RV = 1000
SIZES = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
SCENARIOS = ("watch rv=N (replay)", "watch rv=None (live)", "watch rv=None (initial state)",
             "watch rv=0 (initial state)", "list rv=None", "list rv=mid Exact")


def writes(n: int):
    """The n writes, as (rv, key, new object or None): deterministic, N/10 objects."""
    keys, current = max(n // 10, 1), set()
    for i in range(n):
        rv, key = FIRST_RV + i, ("ns1" if i % 2 else "ns2", f"o{i % keys}")
        if key in current and i % 7 == 3:
            current.discard(key)
            yield rv, key, None
        else:
            current.add(key)
            yield rv, key, Obj(key[0], key[1], {"app": "x" if (i // keys + i % keys) % 2 == 0 else "y"}, str(i), rv)


def build(n: int) -> History:
    log = History()
    for w in writes(n):
        log.acknowledge([w])
    return log


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def check_replay(log: History, n: int) -> tuple[float, float]:
    events = [e for e in (event_for(w, FILTER) for w in log.writes) if e is not None]
    model = WatchModel(WatchSpec(FILTER, rv=FIRST_RV - 1), log, Retention(n))

    def run():
        for ev in events:
            model.observe(ev)
        assert model.owed() is None

    return timed(run)


def check_live(n: int) -> tuple[float, float]:
    log = History()
    model = WatchModel(WatchSpec(FILTER, rv=None), log, Retention(n))
    wall = cpu = 0.0
    batch = []
    for i, w in enumerate(writes(n), 1):
        batch.append(w)
        if len(batch) == 100 or i == n:
            done = log.acknowledge(batch)
            events = [e for e in (event_for(x, FILTER) for x in done) if e is not None]
            batch = []

            def run():
                for ev in events:
                    model.observe(ev)
                assert model.owed() is None

            dw, dc = timed(run)
            wall, cpu = wall + dw, cpu + dc
    return wall, cpu


def check_initial(log: History, n: int, rv: int | None) -> tuple[float, float]:
    state = [o for o in log.current.values() if FILTER.matches(o)]
    random.Random(n).shuffle(state)
    events = [Ev(ADDED, o.rv, o) for o in state]
    model = WatchModel(WatchSpec(FILTER, rv=rv), log, Retention(n))

    def run():
        for ev in events:
            model.observe(ev)
        assert model.owed() is None

    return timed(run)


def check_list(log: History, n: int, exact: bool) -> tuple[float, float]:
    rv = log.rvs[n // 2] if exact else log.last_rv
    items = tuple(sorted((o for o in log.state_at(rv).values() if FILTER.matches(o)), key=lambda o: o.key))
    model = ListModel(ListSpec(FILTER, rv if exact else None, EXACT if exact else None), log, Retention(n))
    return timed(lambda: model.first_page(rv, items, None))


def measure(n: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) seconds per scenario for a history of n writes."""
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in SCENARIOS}
    log = build(n)
    for _ in range(repeats):
        samples[SCENARIOS[0]].append(check_replay(log, n))
        samples[SCENARIOS[1]].append(check_live(n))
        samples[SCENARIOS[2]].append(check_initial(log, n, None))
        samples[SCENARIOS[3]].append(check_initial(log, n, 0))
        samples[SCENARIOS[4]].append(check_list(log, n, exact=False))
        samples[SCENARIOS[5]].append(check_list(log, n, exact=True))
    return {s: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for s, v in samples.items()}


def plot(results: dict[int, dict[str, tuple[float, float]]], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for s in SCENARIOS:
        ax.plot(sizes, [results[n][s][1] for n in sizes], marker="o", label=s)
    top = max(results[sizes[0]][s][1] for s in SCENARIOS)
    ax.plot(sizes, [top * n / sizes[0] for n in sizes], "k--", linewidth=0.8, label="slope 1 (linear)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("writes in the history")
    ax.set_ylabel("CPU time to check (s, median)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    parser.add_argument("--plot", default=None, help="a PNG path for the plot (needs matplotlib)")
    parser.add_argument("--smoke", action="store_true", help="10^3 and 3x10^3 writes, one repeat, output to a temp dir")
    args = parser.parse_args()
    out = output_path(args.out, args.smoke, "checker.md")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install -e '.[bench]'")
    if args.smoke:
        args.max, args.repeats = 3_000, 1

    results, loads = {}, {}
    for n in (n for n in SIZES if n <= args.max):
        loads[n] = os.getloadavg()[0]
        results[n] = measure(n, args.repeats)
        print(f"{n:>9,} writes (load {loads[n]:.2f}): " + "; ".join(
            f"{s} {w:.3f}s" for s, (w, _) in results[n].items()), file=sys.stderr, flush=True)

    machine = (f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    lines = [
        "# Checker scaling: one watch stream and one list against the model",
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`  ",
        f"Machine: {machine}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.repeats}"
        + (" (SMOKE: a check that the benchmark runs, not a measurement)" if args.smoke else ""),
        "",
        "Wall time in seconds (CPU time in parentheses); then CPU time per write in microseconds:",
        "",
        "| writes | load | " + " | ".join(SCENARIOS) + " |",
        "|---|---|" + "---|" * len(SCENARIOS),
    ]
    for n, row in results.items():
        lines.append(f"| {n:,} | {loads[n]:.2f} | " + " | ".join(
            f"{w:.4f} ({c:.4f}); {c / n * 1e6:.2f}" for w, c in row.values()) + " |")
    sizes = sorted(results)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        growth = "; ".join(f"{s} x{results[hi][s][1] / max(results[lo][s][1], 1e-9):.0f}" for s in SCENARIOS)
        lines += ["", f"Growth of CPU time from {lo:,} to {hi:,} writes (x{hi // lo:,}): {growth}."]
    publish(lines, out)
    if args.plot:
        plot(results, args.plot, f"Checker scaling (filter app=x); {machine}")


if __name__ == "__main__":
    main()
