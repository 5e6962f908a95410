"""Waivers (`check --waivers FILE`): accepted exceptions, with a reason, an owner and an expiry date.

The file is a YAML list:

    - requirement: gang_scheduling      # a requirement id of any checklist version
      context: prod-eu                  # optional: only this kubeconfig context (default: every cluster)
      reason: Batch jobs run elsewhere until the Q3 migration
      expires: 2026-12-31               # YYYY-MM-DD; the waiver holds through that day (UTC)
      by: alice@example.com

A matching result keeps its status and gains the waiver (every output shows it). An unexpired waiver stops the
result from counting in the exit code; an expired one is a warning and excuses nothing. A waiver naming a
context is preferred over one without for the same requirement. Mistakes in the file (unknown requirement,
bad date, missing or unknown field, two waivers for the same requirement and context) are errors before any
cluster is contacted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubectl_aiconf.result import Report

_REQUIRED = ("requirement", "reason", "expires", "by")
_FIELDS = (*_REQUIRED, "context")


class WaiverError(Exception):
    """The waivers file cannot be used: one line for the user."""


@dataclass(frozen=True)
class Waiver:
    requirement: str
    reason: str
    expires: datetime.date
    by: str
    context: str | None = None  # None: every cluster
    expired: bool = False  # decided when the file is loaded, against today's date (UTC)

    def to_dict(self) -> dict[str, Any]:
        """The `waiver` key of a requirement in the JSON and YAML reports (also what -o html renders)."""
        return {
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "by": self.by,
            "context": self.context,
            "expired": self.expired,
        }

    @property
    def active(self) -> bool:
        """An unexpired waiver excuses its result from the exit code."""
        return not self.expired

    def describe(self) -> str:
        """'waived until 2026-12-31 by alice: reason' or 'waiver expired on 2026-01-31 (alice: reason)'."""
        if self.expired:
            return f"waiver expired on {self.expires.isoformat()} ({self.by}: {self.reason})"
        return f"waived until {self.expires.isoformat()} by {self.by}: {self.reason}"


def today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


def _date(value: Any, where: str) -> datetime.date:
    if isinstance(value, datetime.datetime):  # YAML reads '2026-12-31 10:00' as a timestamp
        raise WaiverError(f"{where}: expires must be a date YYYY-MM-DD, not a time")
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise WaiverError(f"{where}: expires {str(value)!r} is not a date YYYY-MM-DD") from None


def _text(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WaiverError(f"{where}: {key} must be a non-empty string")
    return " ".join(value.split())


def parse(data: Any, source: str, on: datetime.date) -> list[Waiver]:
    """The waivers of an already parsed YAML document; `on` is the date expiry is judged against."""
    from kubectl_aiconf.catalogue import BY_ID

    if data is None:
        return []
    if not isinstance(data, list):
        raise WaiverError(f"{source}: expected a YAML list of waivers")
    waivers: list[Waiver] = []
    seen: set[tuple[str, str | None]] = set()
    for n, item in enumerate(data, 1):
        where = f"{source}: waiver {n}"
        if not isinstance(item, dict):
            raise WaiverError(f"{where}: expected a mapping with {', '.join(_REQUIRED)} and optionally context")
        unknown = sorted(str(k) for k in item if k not in _FIELDS)
        if unknown:
            raise WaiverError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")
        missing = [k for k in _REQUIRED if item.get(k) in (None, "")]
        if missing:
            raise WaiverError(f"{where}: missing {missing[0]}")
        requirement = _text(item, "requirement", where)
        if requirement not in BY_ID:
            raise WaiverError(f"{where}: unknown requirement {requirement!r} (see `kubectl aiconf requirements`)")
        context = _text(item, "context", where) if item.get("context") is not None else None
        key = (requirement, context)
        if key in seen:
            on_context = f" on context {context!r}" if context else ""
            raise WaiverError(f"{where}: a second waiver for {requirement}{on_context}")
        seen.add(key)
        expires = _date(item["expires"], where)
        waivers.append(
            Waiver(requirement, _text(item, "reason", where), expires, _text(item, "by", where), context, expires < on)
        )
    return waivers


def load(path: str, on: datetime.date | None = None) -> list[Waiver]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise WaiverError(f"waivers {path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WaiverError(f"waivers {path}: not valid YAML: {first}") from None
    return parse(data, f"waivers {path}", on or today())


def apply(report: Report, waivers: list[Waiver]) -> None:
    """Attach to each result of `report` the waiver that matches it (its context's before a general one), and add
    a warning to the report for each expired waiver that matched."""
    for result in report.results:
        matching = [w for w in waivers if w.requirement == result.id and w.context in (None, report.context)]
        if not matching:
            continue
        waiver = min(matching, key=lambda w: w.context is None)
        result.waiver = waiver
        if waiver.expired:
            on_context = f" on context {waiver.context}" if waiver.context else ""
            report.warnings.append(
                f"the waiver for {result.id}{on_context} expired on {waiver.expires.isoformat()}; "
                f"it no longer excuses its {result.status.value}"
            )
