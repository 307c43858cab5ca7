"""A pytest plugin for the benchmarks' smoke runs: registers the Hypothesis profile ``bench-smoke``.

``bench/stress.py --smoke`` and ``bench/parallel.py --smoke`` run pytest with
``-p bench.smoke_profile --hypothesis-profile bench-smoke``: the conformance run then uses this
profile as a user's own (see ``listwatch_conformance.properties.profiles``), 3 examples of 10
steps, so the run checks that the script works in seconds instead of measuring anything.
"""

from hypothesis import HealthCheck, settings

NAME = "bench-smoke"
ARGS = ["-p", "bench.smoke_profile", "--hypothesis-profile", NAME]

settings.register_profile(NAME, max_examples=3, stateful_step_count=10, deadline=None, database=None,
                          derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
