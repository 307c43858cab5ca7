"""Inputs for the state machine: tiny alphabets so objects collide and shrinking lands on 'a'.

The namespaces include the prefix trap (ns1 and ns10); labels come from two keys and two
values so objects enter and leave selectors often.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAMESPACES = ("ns1", "ns10")
NAMES = ("a", "b", "c")
LABEL_KEYS = ("app", "env")
LABEL_VALUES = ("x", "y")

namespaces = st.sampled_from(NAMESPACES)
names = st.sampled_from(NAMES)
values = st.sampled_from(("0", "1"))
labels = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2)
watch_namespaces = st.one_of(st.none(), namespaces)
writes = st.tuples(st.sampled_from(("create", "update", "delete")), namespaces, names, labels, values)
# prepare()'s history: creates twice as likely, so the store holds enough objects to page through
seed_writes = st.tuples(st.sampled_from(("create", "update", "create", "delete")), namespaces, names, labels, values)


def _requirement(key: str, a: str, b: str, form: int) -> str:
    return (f"{key}={a}", f"{key}!={a}", f"{key} in ({a},{b})", f"{key} notin ({a})",
            key, f"!{key}", f"{key}=={a}")[form]


requirements = st.builds(_requirement, st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES),
                         st.sampled_from(LABEL_VALUES), st.integers(0, 6))
label_selectors = st.one_of(st.just(""), st.lists(requirements, min_size=1, max_size=2).map(",".join))
# no field selector half of the time, as for label selectors: a filter that matches little leaves
# pages with nothing to paginate and watches with nothing to see
field_selectors = st.one_of(st.just(""), st.sampled_from((
    "metadata.name=a", "metadata.name!=a", "metadata.namespace=ns1", "metadata.namespace!=ns10",
    "metadata.name==b", "metadata.name=b,metadata.namespace=ns10",
)))


class Ahead(int):
    """An RV this far beyond the highest RV the backend has handed out (a future RV)."""

    def __repr__(self) -> str:
        return f"Ahead({int(self)})"


aheads = st.integers(1, 3).map(Ahead)
# a watch's start modes, a quarter each: from a state (rv=None or 0), from an RV handed out, from the
# future (Ahead), or around the edge of the declared history (OldestRetained)
from_state = st.sampled_from((None, 0))
# mostly pages of one, the smallest page that leaves a remainder to continue: with a choice of the
# sizes one and two alike, few lists had a remainder that a later list_next could meet
limits = st.sampled_from((1, 1, 1, 2))
paginated = st.integers(0, 2)  # which paginated list in progress list_next continues: 0 is the oldest


class OldestRetained(int):
    """The RV of the write this many places after (negative: before) the oldest write the declared
    history covers: 0 is the oldest RV a watch must replay from, -1 the newest it may refuse."""

    def __repr__(self) -> str:
        return f"OldestRetained({int(self)})"


# -1 is the newest RV a watch may be refused at, -2 the one before it (the ring's edge); -4 and -3 reach RVs
# that only a grown ring could still replay
oldest_retained = st.integers(-4, 1).map(OldestRetained)
