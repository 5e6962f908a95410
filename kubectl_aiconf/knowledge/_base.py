"""Record types shared by the knowledge modules: API resources, workloads recognised by name or image,
label matches. Data only, plus the compiled form of their patterns."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass


@functools.cache
def rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """The compiled form of a pattern, compiled once per process (records hold patterns as text so that
    they stay printable, comparable and hashable)."""
    return re.compile(pattern, flags)


def search(pattern: str, text: str | None, flags: int = 0) -> bool:
    """True when `pattern` is non-empty and found in `text`; an empty pattern matches nothing."""
    return bool(pattern) and rx(pattern, flags).search(text or "") is not None


def fullmatch(pattern: str, text: str | None, flags: int = 0) -> bool:
    """True when `pattern` is non-empty and matches the whole of `text`."""
    return bool(pattern) and rx(pattern, flags).fullmatch(text or "") is not None


class Record:
    """Mixin of every registry record: a `key` unique within its kind, and `KIND` naming the kind."""

    KIND = ""
    key: str

    @property
    def record_id(self) -> str:
        """`accelerator:nvidia`, `scheduler:kueue`: unique across the registry."""
        return f"{self.KIND}:{self.key}"


@dataclass(frozen=True)
class Api:
    """An API resource an add-on defines: what the tool lists, looks for among CRDs, or asks RBAC for."""

    group: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def qualified(self) -> str:
        """`clusterqueues.kueue.x-k8s.io`: the CRD name and the name kubectl and RBAC use."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True)
class Component:
    """A workload (Deployment, DaemonSet, StatefulSet) recognised by its name or one of its images.

    Patterns are regular expressions searched in the text; an empty pattern matches nothing, so a
    component with neither runs out of sight (managed). `namespace`, when given, must also match.
    """

    name: str = ""
    image: str = ""
    namespace: str = ""

    @property
    def patterns(self) -> tuple[str, str, str]:
        """(name, image, namespace) in the form `checks.common.match_workloads` takes."""
        return self.name, self.image, self.namespace

    @property
    def visible(self) -> bool:
        """False for a component that runs outside the cluster (nothing to look for)."""
        return bool(self.name or self.image)

    def matches(self, name: str, images: Iterable[str] = (), namespace: str = "") -> bool:
        if self.namespace and not search(self.namespace, namespace):
            return False
        return search(self.name, name) or any(search(self.image, i) for i in images)


@dataclass(frozen=True)
class LabelMatch:
    """A node label and the values that count (a regex matched against the whole value, case-insensitively).

    The default value pattern `true` makes it a flag: `false`, empty or absent never count. With `key_regex`,
    `key` is a regex matched against whole label keys, for labels whose key embeds a name (the AMD GPU
    Operator's `gpu.operator.amd.com/<namespace>.<DeviceConfig>.driver`).
    """

    key: str
    value: str = "true"
    key_regex: bool = False

    def found(self, labels: dict) -> tuple[str, str] | None:
        """(key, value) of the first label that satisfies this match, or None."""
        if not self.key_regex and self.key not in labels:  # most labels of most nodes: answered at once
            return None
        keys = [k for k in labels if rx(self.key).fullmatch(k)] if self.key_regex else [self.key]
        for key in keys:
            value = labels.get(key)
            if value is not None and fullmatch(self.value, str(value), re.IGNORECASE):
                return key, str(value)
        return None

    def matches(self, labels: dict) -> bool:
        return self.found(labels) is not None


def any_label(matches: Iterable[LabelMatch], labels: dict) -> LabelMatch | None:
    """The first of `matches` the labels satisfy, or None."""
    return next((m for m in matches if m.matches(labels)), None)
