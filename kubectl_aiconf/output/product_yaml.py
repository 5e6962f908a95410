"""`-o product-yaml`: a CNCF PRODUCT.yaml draft filled in from the check results.

The document has the shape of CNCF's checklist templates: `metadata` and `spec` (category -> list of
requirements with id, description, level, status, evidence, notes). Every requirement of the checklist
version is present, in catalogue order (or in the order of an official template given with --template).

Status mapping (CNCF accepts exactly these values; "" leaves the requirement unanswered):

    PASS -> Implemented, WARN -> Partially Implemented, FAIL -> Not Implemented, N/A -> N/A, UNKNOWN -> ""

`options.extra` keys (all optional):

* ``metadata``: dict of metadata values, camelCase keys (see `load_metadata`). Missing fields are written
  as "[...]" placeholders, which CNCF's validator rejects, so they cannot be submitted by accident.
* ``template``: a parsed official checklist template (see `load_template`); its requirement ids, levels
  and descriptions are kept and only status, evidence and notes are filled in. A template that already
  holds answers (an earlier PRODUCT.yaml) keeps its evidence entries, keeps its answer wherever this run
  could not tell (UNKNOWN or no check), and lends its metadata to fields --metadata does not set.
* ``evidence_dir``: the product directory, i.e. where PRODUCT.yaml is going to be saved. The tool's own
  reports are written there (`REPORT_FILES`) and every answered requirement lists them as evidence, by
  a path relative to PRODUCT.yaml, which is what CNCF's validator resolves. The names deliberately avoid
  junit.xml, results.json and e2e.log: newer validators parse files with those names as upstream
  conformance-suite results. Without an evidence directory every evidence list is empty.
"""

from __future__ import annotations

import os
import re

from kubectl_aiconf import __version__
from kubectl_aiconf.catalogue import CATEGORIES, minor_of, requirements_for
from kubectl_aiconf.result import Status

CNCF_STATUS = {
    Status.PASS: "Implemented",
    Status.WARN: "Partially Implemented",
    Status.FAIL: "Not Implemented",
    Status.NA: "N/A",
    Status.UNKNOWN: "",
}


def cncf_status(result) -> str:
    """The PRODUCT.yaml status of a requirement result."""
    if result.should_not_met:
        return CNCF_STATUS[Status.FAIL]
    return CNCF_STATUS[result.status]

# Metadata fields in template order, with the placeholder written when a value is missing.
# repoUrl is optional for CNCF (closed-source products have none), so it defaults to "".
METADATA_FIELDS: dict[str, str] = {
    "kubernetesVersion": "",  # defaults to v<checklist version>
    "platformName": "[Platform Name]",
    "platformVersion": "[Platform Version]",
    "vendorName": "[Vendor Name]",
    "websiteUrl": "[Website URL]",
    "repoUrl": "",
    "documentationUrl": "[Documentation URL]",
    "productLogoUrl": "[Product Logo URL]",
    "description": "[Description]",
    "contactEmailAddress": "[Contact Email Address]",
    "k8sConformanceUrl": "[k8s-conformance submission URL, "
                         "e.g. https://github.com/cncf/k8s-conformance/tree/master/v{version}/<product>]",
}

REPORT_FILES = ("aiconf-report.md", "aiconf-report.json")
EVIDENCE_IN_NOTES = 3  # evidence items quoted in `notes`; the report files carry all of them


class OutputError(Exception):
    """Bad input for an output format (metadata, template, evidence directory): one line for the user."""


# inputs ----------------------------------------------------------------------------------------------------
def _snake_to_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_ALIASES = {_snake_to_camel(k): k for k in (
    "kubernetes_version", "platform_name", "platform_version", "vendor_name", "website_url", "repo_url",
    "documentation_url", "product_logo_url", "contact_email_address")}
_ALIASES["k8sConformanceUrl"] = "k8s_conformance_url"


def load_metadata(path: str) -> dict[str, str]:
    """Read metadata values from a YAML file.

    The file is either a flat mapping or a document with a top-level `metadata:` mapping (so an existing
    PRODUCT.yaml can be reused). Keys are camelCase as in PRODUCT.yaml; the snake_case spellings CNCF also
    accepts are converted. Every scalar is read as text, so `platformVersion: 1.10` stays "1.10".
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=yaml.BaseLoader)  # BaseLoader: every scalar is a string
    except OSError as exc:
        raise OutputError(f"cannot read metadata file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise OutputError(f"metadata file {path} is not valid YAML: {one_line(str(exc))}") from None
    if data in (None, ""):
        return {}
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        data = data["metadata"]
    if not isinstance(data, dict):
        raise OutputError(f"metadata file {path} must hold a mapping of metadata fields")
    snake = {v: k for k, v in _ALIASES.items()}
    metadata: dict[str, str] = {}
    for key, value in data.items():
        name = snake.get(key, key)
        if name not in METADATA_FIELDS:
            raise OutputError(f"metadata file {path}: unknown field {key!r}; known fields: "
                              f"{', '.join(METADATA_FIELDS)}")
        if not isinstance(value, str):
            raise OutputError(f"metadata file {path}: {key} must be a single value, not a list or mapping")
        if name in metadata:
            raise OutputError(f"metadata file {path}: {name} is given twice")
        metadata[name] = value.strip()
    return metadata


def load_template(path: str) -> dict:
    """Read an official checklist template (docs/AIConformance-X.Y.yaml) or a PRODUCT.yaml to fill in."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise OutputError(f"cannot read template {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise OutputError(f"template {path} is not valid YAML: {one_line(str(exc))}") from None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict) or not spec:
        raise OutputError(f"template {path} has no `spec` mapping of categories")
    for category, items in spec.items():
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise OutputError(f"template {path}: spec.{category} must be a list of requirements with an id")
    return data


def template_version(template: dict) -> str | None:
    """The checklist version a template is for ('1.35'), from its metadata.kubernetesVersion."""
    meta = template.get("metadata")
    value = meta.get("kubernetesVersion") if isinstance(meta, dict) else None
    return minor_of(str(value)) if value is not None else None


def _placeholder(value: str) -> bool:
    value = value.strip()
    return value.startswith("[") and value.endswith("]")


# content ---------------------------------------------------------------------------------------------------
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """One line of printable text: whitespace runs become one space, control characters are dropped."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def notes_for(result) -> str:
    """A short account of what the check found: its message, the first few evidence items, its status."""
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
    parts.append(f"(kubectl-aiconf {__version__}: {result.status.value})")
    return " ".join(parts)


def _rows(report, template: dict | None) -> list[tuple[str, str, str, str, dict]]:
    """(category, id, level, description, template item or {}) of every requirement to write, in order."""
    if template is None:
        version = report.conformance_version
        return [(r.category, r.id, r.level(version), r.description, {}) for r in requirements_for(version)]
    rows = []
    for category, items in template["spec"].items():
        for item in items:
            rows.append((str(category), str(item["id"]), str(item.get("level") or ""),
                         str(item.get("description") or ""), item))
    return rows


def _prior_answer(item: dict) -> tuple[str, list[str], str]:
    """The status, evidence and notes a template item already holds (all empty in official templates)."""
    evidence = item.get("evidence")
    if isinstance(evidence, list):
        evidence = [str(e) for e in evidence if e not in (None, "")]
    else:  # a lone string, as some submissions have it; "N/A" there means none
        evidence = [str(evidence)] if str(evidence or "").strip().upper() not in ("", "N/A") else []
    return str(item.get("status") or ""), evidence, str(item.get("notes") or "")


def _write_evidence(report, metadata: dict, directory: str) -> list[str]:
    import json

    from kubectl_aiconf.output import RenderOptions
    from kubectl_aiconf.output import markdown

    md_options = RenderOptions("markdown", extra={"metadata": metadata})
    contents = {
        REPORT_FILES[0]: markdown.render(report, md_options) + "\n",
        REPORT_FILES[1]: json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n",
    }
    try:
        os.makedirs(directory, exist_ok=True)
        for name, text in contents.items():
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write evidence files to {directory}: {exc.strerror or exc}") from None
    return list(REPORT_FILES)


def build(report, options) -> tuple[dict, list[str]]:
    """The PRODUCT.yaml document as plain data, and the review reminders for its header comment."""
    extra = options.extra
    version = report.conformance_version
    template = extra.get("template")
    if template is not None:
        wanted = template_version(template)
        if wanted and wanted != version:
            raise OutputError(f"the template is for checklist {wanted} but the cluster was checked against "
                              f"{version}; pass --conformance-version {wanted} or use the {version} template")
    given = {k: v for k, v in (extra.get("metadata") or {}).items() if v}
    # A filled-in PRODUCT.yaml used as template lends its metadata to fields --metadata does not set.
    lent = template.get("metadata") if template is not None else None
    lent = {str(k): str(v) for k, v in lent.items() if isinstance(v, str) and v.strip()
            and not _placeholder(v)} if isinstance(lent, dict) else {}
    metadata = {}
    for name, placeholder in METADATA_FIELDS.items():
        default = f"v{version}" if name == "kubernetesVersion" else placeholder.format(version=version)
        metadata[name] = given.get(name) or lent.get(name) or lent.get(_ALIASES.get(name, name)) or default

    evidence_files = _write_evidence(report, metadata, extra["evidence_dir"]) if extra.get("evidence_dir") else []
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
            status, notes = cncf_status(result), notes_for(result)
            # An unanswered requirement must have no evidence: CNCF skips a SHOULD only when both are empty.
            evidence = prior_evidence + [f for f in evidence_files if f not in prior_evidence] if status else []
            if not status:
                blank.append(rid)
        if level == "MUST" and status != "Implemented":
            blocking.append(rid)
        spec.setdefault(category, []).append({"id": rid, "description": description, "level": level,
                                              "status": status, "evidence": evidence, "notes": notes})

    reminders = []
    missing = [k for k, v in metadata.items() if _placeholder(v)]
    if missing:
        reminders.append(f"fill in the metadata placeholders: {', '.join(missing)} (--metadata FILE)")
    if blocking:
        reminders.append("MUST requirements that are not Implemented (CNCF does not accept these; N/A is "
                         "at most allowed for cluster_autoscaling by newer validators): " + ", ".join(blocking))
    if blank:
        reminders.append("requirements left blank because the tool could not tell: " + ", ".join(blank))
    if unchecked:
        reminders.append("requirements this run did not check: " + ", ".join(unchecked))
    if kept:
        reminders.append("answers kept from the template because this run could not tell: " + ", ".join(kept))
    if evidence_files:
        reminders.append(f"keep PRODUCT.yaml next to {' and '.join(evidence_files)}; add links to your own "
                         "documentation or test results to each evidence list")
    else:
        reminders.append("evidence lists are empty: add URLs or files next to PRODUCT.yaml "
                         "(--evidence-dir DIR writes the tool's reports there and lists them)")
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
    spec = {category: [{"id": item["id"], "description": _Quoted(item["description"]), "level": item["level"],
                        "status": _Quoted(item["status"]), "evidence": [_Quoted(e) for e in item["evidence"]],
                        "notes": _Quoted(item["notes"])} for item in items]
            for category, items in doc["spec"].items()}
    return {"metadata": metadata, "spec": spec}


def dump(doc: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):  # indent lists under their key
            return super().increase_indent(flow, False)

    Dumper.add_representer(_Quoted, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", str(s), style='"'))
    return yaml.dump(_quote(doc), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=float("inf"),
                     default_flow_style=False)


def render(report, options) -> str:
    doc, reminders = build(report, options)
    where = f"context {report.context}" if report.context else "a snapshot"
    header = [
        f"# Kubernetes AI Conformance checklist v{report.conformance_version}: PRODUCT.yaml draft",
        f"# written by kubectl-aiconf {__version__} from {where} "
        f"(Kubernetes {report.kubernetes_version or 'version unknown'}).",
        "# Statuses come from read-only checks and notes summarise what they found: review every entry.",
        "# Before submitting:",
    ] + [f"#   - {one_line(r)}" for r in reminders]
    return "\n".join(header) + "\n" + dump(doc).rstrip("\n")
