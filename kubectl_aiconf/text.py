"""Small text helpers for messages and evidence, in one place so every output counts and lists alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sized

_SIBILANT_ENDINGS = ("s", "sh", "ch", "x", "z")


def plural(n: int, word: str, many: str = "") -> str:
    """'1 node', '2 nodes', '2 DeviceClasses', '2 Prometheuses'; `many` for irregular plurals."""
    if n == 1:
        return f"{n} {word}"
    if many:
        return f"{n} {many}"
    if word.endswith(_SIBILANT_ENDINGS):
        return f"{n} {word}es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}s"


def sample(names: Iterable[str], limit: int = 3) -> str:
    """The first `limit` of the sorted distinct names, then 'and N more'."""
    ordered = sorted(set(names))
    head = ", ".join(ordered[:limit])
    return head + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def more(items: Sized, template: str, word: str = "more node") -> str:
    """A suffix for evidence that shows only the first of several items: template.format('2 more nodes')."""
    return template.format(plural(len(items) - 1, word)) if len(items) > 1 else ""


def join_nonempty(*parts: str, separator: str = "; ") -> str:
    return separator.join(p for p in parts if p)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(value: object) -> str:
    """One line of printable text: whitespace runs become one space, control characters are dropped.

    For values that came from the cluster or a user's file and end up in a table cell, a YAML note or a heading,
    where a newline or an escape sequence would break the layout.
    """
    return " ".join(_CONTROL.sub(" ", str(value)).split())
