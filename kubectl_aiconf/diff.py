"""What changed between two reports: `kubectl aiconf diff OLD NEW` and `check --baseline FILE`.

Both sides are JSON (or YAML) documents as `check -o json` writes them: one cluster's document or a list of
them (several clusters, matched by context; a lone document on either side is compared with the other side's
document of the same context, or with the only one).

Statuses are ranked, best first: PASS = N/A, then WARN, then UNKNOWN, then FAIL. A requirement whose status
moved down is a regression, up an improvement; PASS <-> N/A, a new reason with the same status, or a new
message or evidence with the same status and reason are listed as changes. A cluster that could be checked
before and not now is a regression of the cluster (and the reverse an improvement). Requirements only one
side's checklist has are listed as added or removed, and are neither.

The exit code is 1 when a MUST (in the new report) regressed and no unexpired waiver in the new report covers
it, or a cluster could no longer be checked; otherwise 0. SHOULD regressions are listed and do not fail,
as a SHOULD never fails `check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

RANK = {"PASS": 0, "N/A": 0, "WARN": 1, "UNKNOWN": 2, "FAIL": 3}
KINDS = ("regression", "improvement", "changed", "evidence", "added", "removed")
EXIT_REGRESSED = 1
EVIDENCE_SHOWN = 3  # items added and removed per requirement in the table; -o json has all


class DiffError(Exception):
    """A report that cannot be read or is not a kubectl-aiconf report: one line for the user."""


@dataclass
class Change:
    id: str
    kind: str  # one of KINDS
    level: str  # in the new report (the old one's for a removed requirement)
    old: dict | None  # the requirement's document in the old report
    new: dict | None

    @property
    def waived(self) -> bool:
        waiver = (self.new or {}).get("waiver")
        return isinstance(waiver, dict) and not waiver.get("expired")

    @property
    def fails(self) -> bool:
        return self.kind == "regression" and self.level == "MUST" and not self.waived

    def to_dict(self) -> dict:
        def side(doc: dict | None) -> dict | None:
            if doc is None:
                return None
            return {k: doc.get(k) for k in ("status", "reason", "message")}

        data: dict[str, Any] = {"id": self.id, "change": self.kind, "level": self.level}
        data["old"], data["new"] = side(self.old), side(self.new)
        added, removed = self.evidence()
        if added or removed:
            data["evidence"] = {"added": added, "removed": removed}
        if self.waived:
            data["waived"] = True
        return data

    def evidence(self) -> tuple[list[dict], list[dict]]:
        """Evidence items only the new side has, and only the old side has."""
        if self.old is None or self.new is None:
            return [], []
        old, new = self.old.get("evidence") or [], self.new.get("evidence") or []
        return [e for e in new if e not in old], [e for e in old if e not in new]


@dataclass
class ClusterDiff:
    context: str | None
    old: dict | None  # the cluster's document on each side; None when that side lacks the cluster
    new: dict | None
    changes: list[Change] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        """What happened to the cluster itself: added, removed, regression (no longer checked), improvement."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        if "error" in self.new and "error" not in self.old:
            return "regression"
        if "error" in self.old and "error" not in self.new:
            return "improvement"
        return None

    @property
    def fails(self) -> bool:
        return self.kind == "regression" or any(c.fails for c in self.changes)

    def to_dict(self) -> dict:
        def side(doc: dict | None) -> dict | None:
            if doc is None:
                return None
            if "error" in doc:
                return {"error": doc["error"]}
            return {k: doc.get(k) for k in ("conformanceVersion", "kubernetesVersion")}

        return {
            "context": self.context,
            "change": self.kind,
            "old": side(self.old),
            "new": side(self.new),
            "requirements": [c.to_dict() for c in self.changes],
        }


@dataclass
class Diff:
    clusters: list[ClusterDiff]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.clusters for x in c.changes if x.kind == kind) + sum(
            1 for c in self.clusters if c.kind == kind
        )

    @property
    def regressed(self) -> bool:
        return any(c.fails for c in self.clusters)

    def exit_code(self) -> int:
        return EXIT_REGRESSED if self.regressed else 0

    def to_dict(self) -> dict:
        return {
            "regressed": self.regressed,
            "summary": {kind: self.count(kind) for kind in KINDS},
            "clusters": [c.to_dict() for c in self.clusters],
        }


# reading ---------------------------------------------------------------------------------------------------
def _check_document(doc: Any, where: str) -> dict:
    if not isinstance(doc, dict) or not (
        isinstance(doc.get("requirements"), list) or isinstance(doc.get("error"), str)
    ):
        raise DiffError(f"{where}: not a kubectl-aiconf report (check -o json)")
    for item in doc.get("requirements") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or item.get("status") not in RANK:
            raise DiffError(f"{where}: not a kubectl-aiconf report (a requirement without an id or a known status)")
    return doc


def documents(data: Any, where: str) -> list[dict] | dict:
    """The report document(s) of a parsed file: a dict for one cluster, a list for several."""
    if isinstance(data, list):
        if not data:
            raise DiffError(f"{where}: an empty list of reports")
        return [_check_document(d, where) for d in data]
    return _check_document(data, where)


def load(path: str) -> list[dict] | dict:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            content = f.read()
    except OSError as exc:
        raise DiffError(f"report {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DiffError(f"report {path}: not a text file") from None
    try:
        data = json.loads(content)
    except ValueError:
        import yaml  # -o yaml reports

        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError:
            raise DiffError(f"report {path}: neither JSON nor YAML") from None
    return documents(data, f"report {path}")


# comparing -------------------------------------------------------------------------------------------------
def _kind(old: dict, new: dict) -> str | None:
    before, after = RANK[old["status"]], RANK[new["status"]]
    if after > before:
        return "regression"
    if after < before:
        return "improvement"
    if old["status"] != new["status"] or old.get("reason") != new.get("reason"):
        return "changed"
    if old.get("message") != new.get("message") or old.get("evidence") != new.get("evidence"):
        return "evidence"
    return None


def compare_cluster(context: str | None, old: dict | None, new: dict | None) -> ClusterDiff:
    result = ClusterDiff(context, old, new)
    if old is None or new is None:
        return result
    before = {r["id"]: r for r in old.get("requirements") or []}
    after = {r["id"]: r for r in new.get("requirements") or []}
    if "error" in old or "error" in new:
        return result  # nothing to compare requirement by requirement
    for rid, r in after.items():
        if rid not in before:
            result.changes.append(Change(rid, "added", str(r.get("level")), None, r))
            continue
        kind = _kind(before[rid], r)
        if kind:
            result.changes.append(Change(rid, kind, str(r.get("level")), before[rid], r))
    for rid, r in before.items():
        if rid not in after:
            result.changes.append(Change(rid, "removed", str(r.get("level")), r, None))
    result.changes.sort(key=lambda c: (KINDS.index(c.kind), c.level != "MUST"))
    return result


def compare(old: list[dict] | dict, new: list[dict] | dict) -> Diff:
    if isinstance(old, dict) and isinstance(new, dict):
        return Diff([compare_cluster(new.get("context"), old, new)])
    olds = old if isinstance(old, list) else [old]
    news = new if isinstance(new, list) else [new]
    if len(olds) == 1 and len(news) == 1:  # one cluster on each side, whatever its context is called
        return Diff([compare_cluster(news[0].get("context"), olds[0], news[0])])
    by_context = {d.get("context"): d for d in olds}
    clusters = [compare_cluster(d.get("context"), by_context.get(d.get("context")), d) for d in news]
    seen = {d.get("context") for d in news}
    clusters += [compare_cluster(d.get("context"), d, None) for d in olds if d.get("context") not in seen]
    return Diff(clusters)


# rendering -------------------------------------------------------------------------------------------------
_TITLES = {
    "regression": "REGRESSIONS",
    "improvement": "IMPROVEMENTS",
    "changed": "CHANGED",
    "evidence": "CHANGED EVIDENCE",
    "added": "ADDED",
    "removed": "REMOVED",
}

_COUNTED = {
    "regression": "regression",
    "improvement": "improvement",
    "changed": "other change",
    "evidence": "evidence change",
}


def _state(doc: dict | None) -> str:
    if doc is None:
        return "-"
    return f"{doc.get('status')} ({doc.get('reason')})"


def _cluster_state(doc: dict | None) -> str:
    if doc is None:
        return "absent"
    if "error" in doc:
        return f"not checked: {doc['error']}"
    return f"checklist {doc.get('conformanceVersion')}, Kubernetes {doc.get('kubernetesVersion') or 'unknown'}"


def render_table(diff: Diff) -> str:
    from tabulate import tabulate

    from kubectl_aiconf.text import plural

    several = len(diff.clusters) > 1
    lines: list[str] = []
    for cluster in diff.clusters:
        name = cluster.context or "snapshot"
        if several or cluster.kind:
            lines.append(f"{name}: {cluster.kind or 'compared'}")
        if cluster.kind or _cluster_state(cluster.old) != _cluster_state(cluster.new):
            lines.append(f"  old: {_cluster_state(cluster.old)}")
            lines.append(f"  new: {_cluster_state(cluster.new)}")
    for kind in KINDS:
        rows = [(c, x) for c in diff.clusters for x in c.changes if x.kind == kind]
        if not rows:
            continue
        table = []
        for cluster, change in rows:
            note = (change.new or change.old or {}).get("message", "")
            if change.waived:
                note = f"(waived) {note}"
            context = [cluster.context or "snapshot"] if several else []
            table.append([*context, change.id, change.level, _state(change.old), _state(change.new), note])
        headers = (["CLUSTER"] if several else []) + ["REQUIREMENT", "LEVEL", "OLD", "NEW", "MESSAGE"]
        text = tabulate(table, headers=headers, tablefmt="plain", disable_numparse=True).splitlines()
        lines += ["", _TITLES[kind], "  " + text[0]]
        for (_, change), line in zip(rows, text[1:]):
            lines.append("  " + line)
            added, removed = change.evidence()
            for sign, items in (("+", added), ("-", removed)):
                lines += [
                    f"      {sign} {e.get('kind')} {e.get('name')}: {e.get('fact')}" for e in items[:EVIDENCE_SHOWN]
                ]
                if len(items) > EVIDENCE_SHOWN:
                    lines.append(f"      {sign} ... {len(items) - EVIDENCE_SHOWN} more (-o json shows all)")
    counts = [plural(diff.count(kind), word) for kind, word in _COUNTED.items()]
    failing = sum(1 for c in diff.clusters for x in c.changes if x.fails) + sum(
        1 for c in diff.clusters if c.kind == "regression"
    )
    verdict = f"{failing} fail the run" if failing else "nothing fails the run"
    lines += ["", f"Summary: {', '.join(counts)}; {verdict}."]
    return "\n".join(lines).lstrip("\n")


def render(diff: Diff, output: str) -> str:
    if output == "table":
        return render_table(diff)
    if output == "json":
        import json

        return json.dumps(diff.to_dict(), indent=2)
    import yaml

    return yaml.safe_dump(diff.to_dict(), sort_keys=False, allow_unicode=True).rstrip("\n")


def of_reports(old: list[dict] | dict, reports: Sequence[Any], fleet: bool) -> Diff:
    """The diff of a baseline against this run's reports (Report or ClusterError objects)."""
    docs = [r.to_dict() for r in reports]
    return compare(old, docs if fleet else docs[0])
