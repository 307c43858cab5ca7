"""Label and field selectors with Kubernetes semantics, and the watch/list filter.

Label selectors (``k8s.io/apimachinery/pkg/labels``): requirements joined by commas (AND):
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``. The negative
forms ``!=`` and ``notin`` are true when the label is absent. Empty matches everything.

Field selectors (``k8s.io/apimachinery/pkg/fields``): ``metadata.name`` and
``metadata.namespace`` with ``=``, ``==`` and ``!=``, joined by commas.
"""

from __future__ import annotations

import re

import attrs

from listwatch_conformance.model.objects import Obj


class SelectorError(ValueError):
    """A selector string that does not parse."""


EXISTS, NOT_EXISTS, IN, NOT_IN = "exists", "!", "in", "notin"
NEGATIVE_OPS = (NOT_IN,)  # k!=v and k notin (...): true when the label is absent


@attrs.frozen
class Requirement:
    key: str
    op: str  # exists, !, in, notin
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.op == EXISTS:
            return self.key in labels
        if self.op == NOT_EXISTS:
            return self.key not in labels
        if self.op == IN:
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values  # notin


_TOKEN = re.compile(r"\s*(?:(?P<op>==|!=|=|\(|\)|,|!)|(?P<word>[A-Za-z0-9_./-]*[A-Za-z0-9_.-]|))")
# Qualified names: an optional DNS-subdomain prefix (<= 253) and a name (<= 63); values <= 63.
_KEY = re.compile(r"^(?=[^/]{1,253}/|[^/]*$)([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?"
                  r"(?=[^/]{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(?=.{0,63}$)([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        token = m.group("op") or m.group("word") if m else None
        if not token:
            raise SelectorError(f"unexpected character {text[pos]!r} at {pos} in label selector {text!r}")
        out.append(token)
        pos = m.end()
    return out


def parse_label_selector(text: str) -> tuple[Requirement, ...]:
    """Parse a label selector into requirements (ANDed); raise SelectorError if malformed."""
    toks, i, reqs = _tokens(text), 0, []

    def expect(cond: bool, what: str) -> None:
        if not cond:
            raise SelectorError(f"{what} in label selector {text!r}")

    def word(kind: str, pattern: re.Pattern) -> str:
        nonlocal i
        expect(i < len(toks) and pattern.match(toks[i]) is not None and toks[i] not in "()!,=", f"expected a {kind}")
        i += 1
        return toks[i - 1]

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            reqs.append(Requirement(word("key", _KEY), NOT_EXISTS))
        else:
            key = word("key", _KEY)
            op = toks[i] if i < len(toks) else ","
            if op == ",":
                reqs.append(Requirement(key, EXISTS))
            elif op in ("=", "=="):
                i += 1
                value = toks[i] if i < len(toks) and toks[i] not in ",()!=" else ""
                expect(_VALUE.match(value) is not None, f"invalid value {value!r}")
                i += 1 if value else 0
                reqs.append(Requirement(key, IN, frozenset([value])))
            elif op == "!=":
                i += 1
                value = toks[i] if i < len(toks) and toks[i] not in ",()!=" else ""
                expect(_VALUE.match(value) is not None, f"invalid value {value!r}")
                i += 1 if value else 0
                reqs.append(Requirement(key, NOT_IN, frozenset([value])))
            elif op in ("in", "notin"):
                i += 1
                expect(i < len(toks) and toks[i] == "(", f"expected '(' after {op}")
                i += 1
                values = []
                while True:
                    value = toks[i] if i < len(toks) and toks[i] not in ",()!=" else ""
                    expect(_VALUE.match(value) is not None, f"invalid value {value!r}")
                    i += 1 if value else 0
                    values.append(value)
                    expect(i < len(toks), "unterminated value list")
                    if toks[i] == ")":
                        i += 1
                        break
                    expect(toks[i] == ",", "expected ',' or ')' in value list")
                    i += 1
                reqs.append(Requirement(key, IN if op == "in" else NOT_IN, frozenset(values)))
            else:
                raise SelectorError(f"unexpected {op!r} after key {key!r} in label selector {text!r}")
        if i < len(toks):
            expect(toks[i] == ",", f"expected ',' but found {toks[i]!r}")
            i += 1
            expect(i < len(toks), "trailing ','")
    return tuple(reqs)


FIELDS = ("metadata.name", "metadata.namespace")


@attrs.frozen
class FieldRequirement:
    field: str
    equal: bool
    value: str

    def matches(self, obj: Obj) -> bool:
        actual = obj.name if self.field == "metadata.name" else obj.namespace
        return (actual == self.value) == self.equal


def parse_field_selector(text: str) -> tuple[FieldRequirement, ...]:
    """Parse a field selector; only metadata.name and metadata.namespace are supported."""
    reqs = []
    for term in (t.strip() for t in text.split(",") if t.strip()):  # empty terms are skipped, as in Kubernetes
        m = re.fullmatch(r"([^=!\s]+)\s*(==|!=|=)\s*(\S*)", term)
        if not m:
            raise SelectorError(f"invalid term {term!r} in field selector {text!r}")
        field, op, value = m.groups()
        if field not in FIELDS:
            # kube-apiserver's words (runtime.DefaultMetaV1FieldSelectorConversion, sent as 400 BadRequest)
            raise SelectorError(f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
        reqs.append(FieldRequirement(field, op != "!=", value))
    return tuple(reqs)


@attrs.frozen
class Filter:
    """What a watch or list sees: an exact namespace (None: all) and two selectors."""

    namespace: str | None = None
    label_selector: str = ""
    field_selector: str = ""
    labels: tuple[Requirement, ...] = attrs.field(init=False, eq=False, repr=False)
    fields: tuple[FieldRequirement, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "labels", parse_label_selector(self.label_selector))
        object.__setattr__(self, "fields", parse_field_selector(self.field_selector))

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj.namespace != self.namespace:
            return False
        for f in self.fields:
            if not f.matches(obj):
                return False
        if self.labels:
            labels = obj.label_map
            for r in self.labels:
                if not r.matches(labels):
                    return False
        return True

    def in_scope(self, obj: Obj) -> bool:
        """Whether the namespace part alone admits ``obj``."""
        return self.namespace is None or obj.namespace == self.namespace

    def absent_label_trap(self, obj: Obj | None) -> bool:
        """Whether ``obj`` lacks a label that a negative requirement (!=, notin) names.

        Those requirements are true for an absent label; implementations often get that wrong.
        """
        if obj is None:
            return False
        labels = obj.label_map
        return any(r.op in NEGATIVE_OPS and r.key not in labels for r in self.labels)

    def describe(self) -> str:
        parts = []
        if self.namespace is not None:
            parts.append(f"namespace={self.namespace!r}")
        if self.label_selector:
            parts.append(f"label_selector={self.label_selector!r}")
        if self.field_selector:
            parts.append(f"field_selector={self.field_selector!r}")
        return ", ".join(parts) or "all objects"
