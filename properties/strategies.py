"""Inputs for the state machine: tiny alphabets so objects collide and shrinking lands on 'a'.

The namespaces include the prefix trap (ns1 and ns10); labels come from two keys and two
values so objects enter and leave selectors often.
"""

from __future__ import annotations

import base64

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


def _valid_sequence(drafts: list[tuple]) -> list[tuple]:
    """Writes (verb, namespace, name, labels, value) that all succeed on an empty store, one per draft
    (namespace, name, labels, value, remove): create an absent object, else update it or, with
    ``remove``, delete it."""
    present, out = set(), []
    for namespace, name, labels, value, remove in drafts:
        key = (namespace, name)
        if key not in present:
            present.add(key)
            out.append(("create", namespace, name, labels, value))
        elif remove:
            present.discard(key)
            out.append(("delete", namespace, name, {}, ""))
        else:
            out.append(("update", namespace, name, labels, value))
    return out


# prepare()'s history: every write succeeds, so a short program reaches a history long enough to evict
# from the ring (or to page through), and the length is drawn uniformly (a plain list's averages five).
# With the verb drawn blindly about half of the writes failed, and a watch from the ring's edge of the
# reference backend met a history long enough to have one a third as often.
_draft = st.tuples(namespaces, names, labels, values, st.booleans())
seed_histories = st.integers(0, 12).flatmap(lambda n: st.lists(_draft, min_size=n, max_size=n)).map(_valid_sequence)


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
# half pages of one, the smallest page that leaves a remainder to continue: with a choice of the
# sizes one and two alike, few lists had a remainder that a later list_next could meet. Pages of two
# and three span both namespaces more often (a continue token must carry the last item's namespace as
# well as its name); 0 asks for no limit, as in Kubernetes (the apiserver paginates for limit > 0 only).
limits = st.sampled_from((1, 1, 1, 2, 3, 0))
paginated = st.integers(0, 2)  # which paginated list in progress list_next continues: 0 is the oldest
# Continue tokens no backend handed out, one for each ``paginated`` value (list_next sends one when it has
# nothing to continue): not base64, base64 of no JSON, JSON of the wrong shape. Kubernetes refuses such a
# token with 400 "continue key is not valid" (k8s.io/apiserver/pkg/storage: ErrGenericInvalidKey), its API
# reference says "the server may reject a continue value it does not recognize": a ListWatchError here.
FORGED_TOKENS = ("not a token", base64.urlsafe_b64encode(b"{").decode(),
                 base64.urlsafe_b64encode(b'{"rv": 1, "after": 1}').decode())


class OldestRetained(int):
    """The RV of the write this many places after (negative: before) the oldest write the declared
    history covers: 0 is the oldest RV a watch must replay from, -1 the newest it may refuse."""

    def __repr__(self) -> str:
        return f"OldestRetained({int(self)})"


# -1 is the newest RV a watch may be refused at, -2 the one before it: the ring's edge, where an off-by-one
# or a grown ring replays with an evicted event missing (-4 and -3 found nothing -2 does not, and made -2
# half as likely)
oldest_retained = st.integers(-2, 1).map(OldestRetained)


class First:
    """The RV of the first write: a client coming back with a very stale RV (an informer that was
    partitioned for long). Long evicted once the history outgrew the ring, so the answer is Expired."""

    def __repr__(self) -> str:
        return "First()"


# around the edge of the declared history, or far behind it
history_edges = st.one_of(oldest_retained, st.just(First()))


class Compacted(int):
    """The RV this far from the highest compaction (``compact(C)``: -1 is C-1, the newest RV a watch may
    be refused at and an exact list must be; 0 is C). Used as a compaction's own RV, it compacts below
    an earlier compaction, which must not bring history back."""

    def __repr__(self) -> str:
        return f"Compacted({int(self)})"


# -1 first: C-1 is where watches and exact lists part ways (a watch may replay, an exact list must not);
# C next: an exact list there must be served (while C is within the declared history). The derandomized
# search draws the first elements far more often than the last (in 150 ci examples, C-2 35 times, C once,
# when C came third), so the order decides which edges a search meets at all.
compaction_edges = st.sampled_from((-1, 0, -2, 1)).map(Compacted)
lower_compactions = st.sampled_from((-1, -2)).map(Compacted)  # compact() below the last compaction
# a list's rv=N spelled with the contract's default meaning (None) or by name
not_older_than = st.sampled_from((None, "NotOlderThan"))

# progress_amid_writes: a write or a progress request, in order. The bookmark paths of a watch's queue
# want a request right behind an unread event (W P), behind an unread bookmark (P P, after W or P) and a
# request after a bookmark and an event (P W P); four steps meet each of them in one of a few orders.
PROGRESS, WRITE = "progress", "write"
progress_amid_writes = st.lists(st.sampled_from((WRITE, PROGRESS)), min_size=2, max_size=5)

# Selectors that do not parse, each with the kind of selector it is sent as: Kubernetes refuses them
# with 400 BadRequest (labels.Parse and fields.ParseSelector fail; an unknown field is refused by the
# resource's field label conversion), so a backend must answer a ListWatchError.
MALFORMED_LABEL_SELECTORS = ("app in (x", "app=x,", "=x", "app in x", "!app=x")
MALFORMED_FIELD_SELECTORS = ("metadata.name", "spec.nodeName=a", "metadata.name=a,metadata.namespace")


def malformed_selectors(label: bool, field: bool):
    """(kind, selector) pairs of the kinds a backend declares it supports: "label" or "field"."""
    pairs = [("label", t) for t in MALFORMED_LABEL_SELECTORS if label]
    pairs += [("field", t) for t in MALFORMED_FIELD_SELECTORS if field]
    return st.sampled_from(pairs)
# list_pages' page sizes: two first, the smallest page that can span both namespaces (a continue token
# must carry the last item's namespace as well as its name)
page_sizes = st.sampled_from((2, 1, 3))
