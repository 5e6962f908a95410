"""`-o product-yaml`: a CNCF PRODUCT.yaml draft filled in from the check results.

The document has the shape of CNCF's checklist templates: `metadata` and `spec` (category -> list of
requirements with id, description, level, status, evidence, notes). Every requirement of the checklist
version is present, in catalogue order (or in the order of an official template given with --template).
The words CNCF accepts (statuses, metadata fields, placeholders) come from `submission.vocabulary`, which
`validate` checks against too.

Status mapping (CNCF accepts exactly these values; "" leaves the requirement unanswered):

    PASS -> Implemented, WARN -> Partially Implemented, FAIL -> Not Implemented, N/A -> N/A, UNKNOWN -> ""

Options used (all optional):

* ``metadata``: metadata values by camelCase field (see `load_metadata`). Missing fields are written
  as "[...]" placeholders, which CNCF's validator rejects, so they cannot be submitted by accident.
* ``template``: a parsed official checklist template (see `load_template`); its requirement ids, levels
  and descriptions are kept and only status, evidence and notes are filled in. A template that already
  holds answers (an earlier PRODUCT.yaml) keeps its evidence entries, keeps its answer wherever this run
  could not tell (UNKNOWN or no check), and lends its metadata to fields --metadata does not set.
* ``evidence_files``: files saved next to PRODUCT.yaml (by the command, with --evidence-dir: the
  `evidence_documents` of the report, named `REPORT_FILES`); every answered requirement lists them as
  evidence, by a path relative to PRODUCT.yaml, which is what CNCF's validator resolves. The names
  deliberately avoid junit.xml, results.json and e2e.log: newer validators parse files with those names as
  upstream conformance-suite results. Without evidence files every evidence list is empty.
* ``probe_evidence``: the junit.xml and e2e.log of a probe run (`--probe --evidence-dir`), listed only by
  the requirements a probe decided; their test cases are named ``aiconf-probe/<id>``, never after an
  upstream test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubectl_aiconf import __version__
from kubectl_aiconf.catalogue import CATEGORIES, minor_of, requirements_for
from kubectl_aiconf.output import OutputError, RenderOptions
from kubectl_aiconf.output import render as render_format
from kubectl_aiconf.result import Report, RequirementResult, Status
from kubectl_aiconf.submission.vocabulary import (
    IMPLEMENTED,
    METADATA_FIELDS,
    METADATA_NAMES,
    REQUIREMENT_FIELDS,
    is_placeholder,
    status_of,
)
from kubectl_aiconf.text import one_line

REPORT_FILES = ("aiconf-report.md", "aiconf-report.json")
EVIDENCE_IN_NOTES = 3  # evidence items quoted in `notes`; the report files carry all of them
_SNAKE_TO_CAMEL = {f.snake: f.name for f in METADATA_FIELDS if f.snake != f.name}


# inputs ----------------------------------------------------------------------------------------------------
def _read_yaml(path: str, what: str, scalars_as_text: bool) -> Any:
    """A user's YAML file, parsed; an unreadable or invalid file is a one-line OutputError naming `what` it is."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            # BaseLoader reads every scalar as a string, so that `platformVersion: 1.10` is not the number 1.1.
            return yaml.load(f, Loader=yaml.BaseLoader if scalars_as_text else yaml.SafeLoader)
    except OSError as exc:
        raise OutputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise OutputError(f"{what} {path} is not valid YAML: {one_line(str(exc))}") from None


def load_metadata(path: str) -> dict[str, str]:
    """Read metadata values from a YAML file.

    The file is either a flat mapping or a document with a top-level `metadata:` mapping (so an existing
    PRODUCT.yaml can be reused). Keys are camelCase as in PRODUCT.yaml; the snake_case spellings CNCF also
    accepts are converted. Every scalar is read as text, so `platformVersion: 1.10` stays "1.10".
    """
    data = _read_yaml(path, "metadata file", scalars_as_text=True)
    if data in (None, ""):
        return {}
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        data = data["metadata"]
    if not isinstance(data, dict):
        raise OutputError(f"metadata file {path} must hold a mapping of metadata fields")
    metadata: dict[str, str] = {}
    for key, value in data.items():
        name = _SNAKE_TO_CAMEL.get(key, key)
        if name not in METADATA_NAMES:
            raise OutputError(f"metadata file {path}: unknown field {key!r}; known fields: {', '.join(METADATA_NAMES)}")
        if not isinstance(value, str):
            raise OutputError(f"metadata file {path}: {key} must be a single value, not a list or mapping")
        if name in metadata:
            raise OutputError(f"metadata file {path}: {name} is given twice")
        metadata[name] = value.strip()
    return metadata


def load_template(path: str) -> dict:
    """Read an official checklist template (docs/AIConformance-X.Y.yaml) or a PRODUCT.yaml to fill in."""
    data = _read_yaml(path, "template", scalars_as_text=False)
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict) or not spec:
        raise OutputError(f"template {path} has no `spec` mapping of categories")
    for category, items in spec.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise OutputError(f"template {path}: spec.{category} must be a list of requirements with an id")
    return data


def template_version(template: Mapping[str, Any]) -> str | None:
    """The checklist version a template is for ('1.35'), from its metadata.kubernetesVersion."""
    meta = template.get("metadata")
    value = meta.get("kubernetesVersion") if isinstance(meta, dict) else None
    return minor_of(str(value)) if value is not None else None


def _placeholder(value: str) -> bool:
    return is_placeholder(value.strip())


# content ---------------------------------------------------------------------------------------------------
def notes_for(result: RequirementResult) -> str:
    """A short account of what the check found: its message, the first few evidence items, its status and reason.

    The reason code lets a reviewer (or a script reading the submission) tell "forbidden" from "needs-probe"
    without parsing our wording.
    """
    parts = []
    message = one_line(result.message)
    if result.status is Status.UNKNOWN:
        message = "kubectl-aiconf could not determine this" + (f": {message}" if message else "")
    if message:
        parts.append(message if message[-1] in ".!?" else message + ".")
    if result.evidence:
        seen = "; ".join(one_line(str(e)) for e in result.evidence[:EVIDENCE_IN_NOTES])
        more = len(result.evidence) - EVIDENCE_IN_NOTES
        parts.append(f"Seen: {seen}" + (f"; and {more} more." if more > 0 else "."))
    if result.waiver is not None:  # the status stays the check's: a waived FAIL is still Not Implemented
        waiver = one_line(result.waiver.describe())
        parts.append(waiver[:1].upper() + waiver[1:] + ".")
    parts.append(f"(kubectl-aiconf {__version__}: {result.status.value}, {result.reason.value})")
    return " ".join(parts)


_Row = tuple[str, str, str | None, str, Mapping[str, Any]]  # category, id, level, description, template item


def _rows(report: Report, template: Mapping[str, Any] | None) -> list[_Row]:
    """(category, id, level, description, template item or {}) of every requirement to write, in order."""
    if template is None:
        version = report.conformance_version
        return [(r.category, r.id, r.level(version), r.description, {}) for r in requirements_for(version)]
    rows: list[_Row] = []
    for category, items in template["spec"].items():
        for item in items:
            rows.append(
                (str(category), str(item["id"]), str(item.get("level") or ""), str(item.get("description") or ""), item)
            )
    return rows


def _prior_answer(item: Mapping[str, Any]) -> tuple[str, list[str], str]:
    """The status, evidence and notes a template item already holds (all empty in official templates)."""
    evidence = item.get("evidence")
    if isinstance(evidence, list):
        evidence = [str(e) for e in evidence if e not in (None, "")]
    else:  # a lone string, as some submissions have it; "N/A" there means none
        evidence = [str(evidence)] if str(evidence or "").strip().upper() not in ("", "N/A") else []
    return str(item.get("status") or ""), evidence, str(item.get("notes") or "")


def _check_template_version(report: Report, template: Mapping[str, Any] | None) -> None:
    wanted = template_version(template) if template is not None else None
    version = report.conformance_version
    if wanted and wanted != version:
        raise OutputError(
            f"the template is for checklist {wanted} but the cluster was checked against "
            f"{version}; pass --conformance-version {wanted} or use the {version} template"
        )


def metadata_for(report: Report, options: RenderOptions) -> dict[str, str]:
    """Every metadata field: --metadata first, then what a filled-in template holds, then a placeholder."""
    version = report.conformance_version
    given = {k: v for k, v in options.metadata.items() if v}
    template = options.template
    lent_raw = template.get("metadata") if template is not None else None
    lent = (
        {str(k): str(v) for k, v in lent_raw.items() if isinstance(v, str) and v.strip() and not _placeholder(v)}
        if isinstance(lent_raw, dict)
        else {}
    )
    metadata = {}
    for f in METADATA_FIELDS:
        default = f"v{version}" if f.name == "kubernetesVersion" else f.placeholder.format(version=version)
        metadata[f.name] = given.get(f.name) or lent.get(f.name) or lent.get(f.snake) or default
    return metadata


def evidence_documents(report: Report, options: RenderOptions) -> dict[str, str]:
    """The tool's own reports to save next to PRODUCT.yaml, by file name (`REPORT_FILES`).

    They are the markdown and json renderings of the same report, the markdown with the metadata the
    PRODUCT.yaml carries. Returned, not written: saving them is the command's job.
    """
    markdown = RenderOptions("markdown", metadata=metadata_for(report, options))
    return {
        REPORT_FILES[0]: render_format(report, markdown) + "\n",
        REPORT_FILES[1]: render_format(report, RenderOptions("json")) + "\n",
    }


def build(report: Report, options: RenderOptions) -> tuple[dict, list[str]]:
    """The PRODUCT.yaml document as plain data, and the review reminders for its header comment."""
    template = options.template
    _check_template_version(report, template)
    metadata = metadata_for(report, options)
    evidence_files = list(options.evidence_files)
    by_id = {r.id: r for r in report.results}
    spec: dict[str, list[dict]] = {}
    blocking, blank, unchecked, kept = [], [], [], []
    for category, rid, level, description, item in _rows(report, template):
        result = by_id.get(rid)
        prior_status, prior_evidence, prior_notes = _prior_answer(item)
        if (result is None or result.status is Status.UNKNOWN) and prior_status:
            # The template already answers what this run cannot: keep that answer as it is.
            status, evidence, notes = prior_status, prior_evidence, prior_notes
            kept.append(rid)
        elif result is None:
            status, notes, evidence = "", "Not checked by kubectl-aiconf in this run.", []
            unchecked.append(rid)
        else:
            status, notes = status_of(result), notes_for(result)
            # An unanswered requirement must have no evidence: CNCF skips a SHOULD only when both are empty.
            own = evidence_files + list(options.probe_evidence.get(rid, ()))
            evidence = prior_evidence + [f for f in own if f not in prior_evidence] if status else []
            if not status:
                blank.append(rid)
        if level == "MUST" and status != IMPLEMENTED:
            blocking.append(rid)
        values = (rid, description, level, status, evidence, notes)
        spec.setdefault(category, []).append(dict(zip(REQUIREMENT_FIELDS, values)))

    reminders = []
    missing = [k for k, v in metadata.items() if _placeholder(v)]
    if missing:
        reminders.append(f"fill in the metadata placeholders: {', '.join(missing)} (--metadata FILE)")
    if blocking:
        reminders.append(
            "MUST requirements that are not Implemented (CNCF does not accept these; N/A is "
            "at most allowed for cluster_autoscaling by newer validators): " + ", ".join(blocking)
        )
    if blank:
        reminders.append("requirements left blank because the tool could not tell: " + ", ".join(blank))
    if unchecked:
        reminders.append("requirements this run did not check: " + ", ".join(unchecked))
    if kept:
        reminders.append("answers kept from the template because this run could not tell: " + ", ".join(kept))
    if evidence_files:
        reminders.append(
            f"keep PRODUCT.yaml next to {' and '.join(evidence_files)}; add links to your own "
            "documentation or test results to each evidence list"
        )
    else:
        reminders.append(
            "evidence lists are empty: add URLs or files next to PRODUCT.yaml "
            "(--evidence-dir DIR saves the tool's reports there and lists them)"
        )
    return {"metadata": metadata, "spec": _order(spec)}, reminders


def _order(spec: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Known categories in checklist order first, then any others a template brings, as they came."""
    ordered = {c: spec[c] for c in CATEGORIES if c in spec}
    ordered.update({c: items for c, items in spec.items() if c not in ordered})
    return ordered


# YAML ------------------------------------------------------------------------------------------------------
class _Quoted(str):
    """A string written in double quotes, so that values like 1.10 or yes stay strings for every reader."""


def _quote(doc: dict) -> dict:
    metadata = {k: _Quoted(v) for k, v in doc["metadata"].items()}
    spec = {
        category: [
            {
                "id": item["id"],
                "description": _Quoted(item["description"]),
                "level": item["level"],
                "status": _Quoted(item["status"]),
                "evidence": [_Quoted(e) for e in item["evidence"]],
                "notes": _Quoted(item["notes"]),
            }
            for item in items
        ]
        for category, items in doc["spec"].items()
    }
    return {"metadata": metadata, "spec": spec}


def dump(doc: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):  # indent lists under their key
            return super().increase_indent(flow, False)

    Dumper.add_representer(_Quoted, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", str(s), style='"'))
    return yaml.dump(
        _quote(doc), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=float("inf"), default_flow_style=False
    )


def render(report: Report, options: RenderOptions) -> str:
    doc, reminders = build(report, options)
    where = f"context {report.context}" if report.context else "a snapshot"
    header = [
        f"# Kubernetes AI Conformance checklist v{report.conformance_version}: PRODUCT.yaml draft",
        (
            f"# written by kubectl-aiconf {__version__} from {where} "
            f"(Kubernetes {report.kubernetes_version or 'version unknown'})."
        ),
        "# Statuses come from read-only checks and notes summarise what they found: review every entry.",
        "# Before submitting:",
    ] + [f"#   - {one_line(r)}" for r in reminders]
    return "\n".join(header) + "\n" + dump(doc).rstrip("\n")
