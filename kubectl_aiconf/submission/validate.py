"""``kubectl aiconf validate``: check PRODUCT.yaml files with the rules of CNCF's CI validator.

Two rule sets:

* ``v2`` (the default) — the "hybrid verification" validator, merged into cncf/k8s-ai-conformance
  ``main`` in September 2026: checklist version from the path, strict Go YAML decoding, required
  metadata (camelCase or snake_case), placeholders, the k8sConformanceUrl pattern, every checklist
  id present, valid statuses, MUST means Implemented except that ``cluster_autoscaling`` may be
  N/A (with notes), N/A needs notes, evidence may be ``file://`` paths with a ``#TestName``
  fragment and must exist in the product directory, and referenced test artifacts (junit.xml,
  results.json, e2e.log) are read and must not contain failing tests;
* ``v1`` — the validator before that merge, which earlier submissions were checked with: the
  same, except that no MUST may be N/A, evidence is a plain path (no ``file://``, a ``#fragment``
  is part of the file name) and test artifacts are only checked for existence.

Online (the default), URLs must answer and vendorName must be a CNCF member; ``--offline``
skips both. Exit codes: 0 valid, 1 invalid, 2 usage error.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field

from kubectl_aiconf.submission import UsageError
from kubectl_aiconf.submission.vocabulary import (
    IMPLEMENTED,
    METADATA_FIELDS,
    NOT_APPLICABLE,
    STATUSES,
    is_placeholder,
)
from kubectl_aiconf.text import plural

RULE_SETS = ("v2", "v1")
OUTPUTS = ("text", "json")

ERROR, WARNING, NOTICE = "error", "warning", "notice"

CONDITIONAL_MUST_V2 = frozenset({"cluster_autoscaling"})
HYBRID_FROM_MINOR = 37  # v2: from checklist 1.37 on, auto-tested requirements want test artifacts

_VERSION_IN_PATH = re.compile(r"(?:^|/)(v\d+\.\d+)/", re.ASCII)
_K8S_CONFORMANCE_URL = re.compile(
    r"https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?", re.ASCII
)
_OTHER_PRODUCT_DIR = re.compile(r"v\d+\.\d+/[^/]+/", re.ASCII)
_LOGO_EXTENSIONS = (".svg", ".eps", ".ai")


@dataclass
class Problem:
    file: str
    severity: str  # error | warning | notice
    rule: str  # stable machine-readable rule name
    subject: str  # requirement id, "metadata.<field>", "spec.<category>", "spec", "path", "yaml"
    message: str
    line: int | None = None

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.subject}: {self.message}"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "severity": self.severity,
            "rule": self.rule,
            "subject": self.subject,
            "message": self.message,
        }


@dataclass
class _UrlCheck:
    """A URL whose reachability decides a problem; resolved after all checks ran."""

    url: str
    rule: str
    subject: str
    what: str  # "evidence URL", "metadata websiteUrl", ...
    line: int | None


@dataclass
class FileResult:
    path: str
    version: str | None = None  # checklist version, "1.34"
    entries: list = field(default_factory=list)  # Problem | _UrlCheck, in check order
    vendor: tuple[str, int | None] | None = None  # vendorName to check against CNCF members

    @property
    def problems(self) -> list[Problem]:
        return [e for e in self.entries if isinstance(e, Problem)]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def valid(self) -> bool:
        return not self.errors

    def add(self, severity: str, rule: str, subject: str, message: str, line: int | None = None) -> None:
        self.entries.append(Problem(self.path, severity, rule, subject, message, line))


# ----------------------------------------------------------------------------------------------
# Go path helpers (filepath.Clean/Join/Dir/Base on a Unix-style path).


def go_clean(p: str) -> str:
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(seg)
    out = "/".join(parts)
    return "/" + out if rooted else (out or ".")


def go_join(*elems: str) -> str:
    elems = tuple(e for e in elems if e)
    return go_clean("/".join(elems)) if elems else ""


def go_dir(p: str) -> str:
    return go_clean(p[: p.rfind("/") + 1])


def go_base(p: str) -> str:
    if p == "":
        return "."
    p = p.rstrip("/")
    return p.rsplit("/", 1)[-1] if p else "/"


def version_from_path(path: str) -> str | None:
    """'v1.34/gke/PRODUCT.yaml' -> '1.34'. The path as given first (as CNCF does), then its
    absolute form (the match nearest to the file), so running from inside the product directory
    works too."""
    given = path.replace(os.sep, "/")
    m = _VERSION_IN_PATH.search(given)
    if m:
        return m.group(1)[1:]
    found = _VERSION_IN_PATH.findall(os.path.abspath(path).replace(os.sep, "/"))
    return found[-1][1:] if found else None


# ----------------------------------------------------------------------------------------------
# Static rules (everything but the network).


def check_file(path: str, data: bytes, rules: str) -> FileResult:
    from kubectl_aiconf import catalogue

    res = FileResult(path)
    version = version_from_path(path)
    if version is None:
        res.add(
            ERROR,
            "version-from-path",
            "path",
            "cannot tell the checklist version from the path: the file must sit in a vX.Y/ "
            "directory, as in v1.34/<product>/PRODUCT.yaml",
        )
        return res
    try:
        schema = catalogue.requirements_for(version)
    except catalogue.UnknownVersion as e:
        res.add(ERROR, "unknown-version", "path", f"no checklist for v{version}: {e}")
        return res
    res.version = version
    if version in catalogue.DRAFT_VERSIONS:
        res.add(
            WARNING,
            "draft-checklist",
            "path",
            f"checklist {version} is a draft: its requirements may still change and CNCF's "
            "validator may not have its template yet",
        )

    from kubectl_aiconf.submission import goyaml

    doc = goyaml.decode(data)
    if doc.failed:
        _decode_problems(res, doc)
        return res
    _check_metadata(res, doc)
    _check_spec(res, doc, schema, version, rules)
    return res


def _decode_problems(res: FileResult, doc) -> None:
    for issue in doc.issues:
        subject, message = _explain_decode_issue(issue)
        rule = "yaml-syntax" if issue.kind == "syntax" else "yaml-decode"
        res.add(ERROR, rule, subject, message, issue.line)
    res.add(
        NOTICE,
        "yaml-decode-stops",
        "yaml",
        "CNCF's validator rejects a file it cannot decode without applying its other rules; "
        "fix the errors above and run again to see the rest",
    )


def _explain_decode_issue(issue) -> tuple[str, str]:
    detail = issue.detail
    go = f" (Go YAML decoder: {detail})"
    where = issue.where
    if issue.kind == "syntax":
        return "yaml", f"not valid YAML: {detail}"
    if issue.kind == "fatal":
        return "yaml", f"the YAML cannot be decoded: {detail}"
    if issue.kind == "duplicate":
        subject = _subject_of(where)
        return subject, f"key {issue.node_value!r} is defined twice; duplicate keys are an error" + go
    kind = issue.node_kind
    shape = {"scalar": f"the scalar {issue.node_value!r}", "sequence": "a list", "mapping": "a mapping"}.get(
        kind, "something else"
    )
    if where[0] == "item":
        item, name = where[1], where[2]
        subject = _subject_of(where)
        if name == "evidence":
            if kind == "scalar":
                return subject, (
                    f"evidence must be a YAML list of strings, not {shape}; write evidence: [] when there is none" + go
                )
            if "into string" in detail:
                return subject, f"each evidence entry must be a plain string, not {shape}" + go
            return subject, f"evidence must be a YAML list of strings, not {shape}" + go
        if name:
            return subject, f"{name} must be a single string, not {shape}" + go
        return subject, (
            f"each entry of spec.{item.category} must be a mapping with id, status, "
            f"evidence and notes, not {shape}" + go
        )
    if where[0] == "metadata":
        if where[1] is None:
            return "metadata", f"metadata must be a mapping of field: value, not {shape}" + go
        return f"metadata.{where[1]}", f"unexpected {shape}" + go
    if where[0] == "spec":
        if where[1] is None:
            return "spec", f"spec must be a mapping of category: list, not {shape}" + go
        return f"spec.{where[1]}", (f"a spec category must be a list of requirement entries, not {shape}" + go)
    return "yaml", f"the document must be a mapping with metadata and spec, not {shape}" + go


def _subject_of(where: tuple) -> str:
    if where[0] == "item":
        item = where[1]
        return item.id or f"spec.{item.category}[{item.index}]"
    if where[0] in ("metadata", "spec") and where[1]:
        return f"{where[0]}.{where[1]}"
    if where[0] in ("metadata", "spec"):
        return where[0]
    return "yaml"


_TYPE_WORDS = {
    "int": "a number",
    "float64": "a number",
    "bool": "a boolean",
    "time.Time": "a date",
    "list": "a list",
    "map": "a mapping",
}


def _check_metadata(res: FileResult, doc) -> None:
    md = doc.metadata
    if md is None:
        res.add(ERROR, "metadata-section-missing", "metadata", "the metadata section is missing", doc.metadata_line)
        return
    for f in METADATA_FIELDS:
        name, required, snake = f.name, f.required, f.snake
        key = name if name in md else snake
        val = md.get(key)
        subject = f"metadata.{name}"
        if val is None or val.go_type == "null":
            if required:
                res.add(
                    ERROR,
                    "metadata-missing",
                    subject,
                    f"required field is missing (write {name}, or {snake})",
                    val.line if val else doc.metadata_line,
                )
            continue
        if not val.is_string:
            words = _TYPE_WORDS.get(val.go_type, val.go_type)
            if val.go_type in ("list", "map"):
                msg = f"must be a string, not {words}"
            else:
                msg = (
                    f"must be a string, but the unquoted value {val.text} reads as {words}; "
                    f'quote it: {key}: "{val.text}"'
                )
            res.add(ERROR, "metadata-not-string", subject, msg, val.line)
            continue
        text = val.value
        if text == "":
            if required:
                res.add(ERROR, "metadata-empty", subject, "required field is empty", val.line)
        elif is_placeholder(text):
            res.add(ERROR, "metadata-placeholder", subject, f"still holds the template placeholder {text}", val.line)
        elif name == "k8sConformanceUrl":
            if not _K8S_CONFORMANCE_URL.fullmatch(text):
                res.add(
                    ERROR,
                    "k8s-conformance-url",
                    subject,
                    f"{text!r} is not a link to a Kubernetes conformance submission; expected "
                    "https://github.com/cncf/k8s-conformance/tree/main/vX.Y/<product>",
                    val.line,
                )
            else:
                res.entries.append(_UrlCheck(text, "url-unreachable", subject, name, val.line))
        elif text.startswith("http"):
            if name == "productLogoUrl" and not text.lower().endswith(_LOGO_EXTENSIONS):
                res.add(
                    WARNING,
                    "logo-format",
                    subject,
                    "the submission instructions ask for an SVG, EPS or AI logo; newer CNCF "
                    "validators reject other formats",
                    val.line,
                )
            res.entries.append(_UrlCheck(text, "url-unreachable", subject, name, val.line))
    vendor = md.get("vendorName") if "vendorName" in md else md.get("vendor_name")
    if vendor is not None and vendor.is_string and vendor.value.strip():
        res.vendor = (vendor.value.strip(), vendor.line)


def _check_spec(res: FileResult, doc, schema, version: str, rules: str) -> None:
    from kubectl_aiconf import catalogue

    if doc.spec is None:
        res.add(ERROR, "spec-section-missing", "spec", "the spec section is missing", doc.spec_line)
        return
    v2 = rules == "v2"
    product_dir = go_dir(res.path.replace(os.sep, "/"))
    hybrid = int(version.split(".")[1]) >= HYBRID_FROM_MINOR
    reports: dict = {}
    by_category: dict[str, list] = {}
    for r in schema:
        by_category.setdefault(r.category, []).append(r)
    for category in catalogue.CATEGORIES:
        wanted = by_category.get(category)
        if not wanted:
            continue
        if category not in doc.spec:
            ids = ", ".join(r.id for r in wanted)
            res.add(
                ERROR,
                "category-missing",
                f"spec.{category}",
                f"category is missing (it must list: {ids})",
                doc.spec_line,
            )
            continue
        items = {}
        for item in doc.spec[category] or []:
            items[item.id] = item  # the last entry with an id wins
        for req in wanted:
            level = req.level(version)
            item = items.get(req.id)
            if item is None:
                res.add(
                    ERROR,
                    "requirement-missing",
                    req.id,
                    _missing_requirement_message(req, category, level, doc),
                    doc.category_lines.get(category),
                )
                continue
            if level == catalogue.SHOULD and item.status == "" and not item.evidence:
                continue  # an unanswered SHOULD is fine
            _check_status(res, item, req.id, level, v2)
            _check_evidence(res, item, req.id, product_dir, v2, hybrid, reports)


def _missing_requirement_message(req, category: str, level: str, doc) -> str:
    msg = f"{level} requirement is missing from spec.{category}"
    elsewhere = [c for c, items in doc.spec.items() if c != category and any(i.id == req.id for i in items or [])]
    if elsewhere:
        msg += f" (it is listed under spec.{elsewhere[0]}, but belongs under spec.{category})"
    elif level == "SHOULD":
        msg += "; SHOULD items must be listed too, with an empty status if not answered"
    return msg


def _check_status(res: FileResult, item, rid: str, level: str, v2: bool) -> None:
    status = item.status
    line = item.lines.get("status", item.line)
    if status not in STATUSES:
        allowed = ", ".join(STATUSES)
        if status == "":
            msg = f"status is empty; it must be one of {allowed}"
            if level == "SHOULD":
                msg += " (a SHOULD item with evidence needs a status)"
        else:
            msg = f"status {status!r} is not one of {allowed}"
            near = [s for s in STATUSES if s.lower() == status.strip().lower()]
            if near:
                msg += f" (did you mean {near[0]!r}? statuses are exact)"
        res.add(ERROR, "status-invalid", rid, msg, line)
    if level == "MUST" and status != IMPLEMENTED:
        if v2 and rid in CONDITIONAL_MUST_V2:
            if status == NOT_APPLICABLE:
                res.add(
                    WARNING,
                    "must-na-conditional",
                    rid,
                    "conditional MUST marked N/A: reviewers will check the justification in notes",
                    line,
                )
            else:
                res.add(
                    ERROR,
                    "must-not-implemented",
                    rid,
                    f"MUST requirement has status {status!r}; it must be Implemented, or N/A "
                    "with a justification in notes",
                    line,
                )
        else:
            msg = f"MUST requirement has status {status!r}; it must be Implemented"
            if rid in CONDITIONAL_MUST_V2 and status == NOT_APPLICABLE:
                msg += (
                    " (the v1 CNCF validator rejects N/A even for this conditional MUST;"
                    " the v2 validator, --rules v2, accepts it with notes)"
                )
            res.add(ERROR, "must-not-implemented", rid, msg, line)
    notes = item.notes.strip() if v2 else item.notes
    if status == NOT_APPLICABLE and notes == "":
        res.add(
            ERROR, "na-without-notes", rid, "status N/A needs a justification in notes", item.lines.get("notes", line)
        )


def _check_evidence(res: FileResult, item, rid: str, product_dir: str, v2: bool, hybrid: bool, reports: dict) -> None:
    line = item.lines.get("evidence", item.line)
    has_artifact = False
    for link in item.evidence or []:
        if link == "":
            continue
        if link.startswith(("http://", "https://")):
            res.entries.append(_UrlCheck(link, "url-unreachable", rid, "evidence URL", line))
            continue
        if not v2:
            full = go_join(product_dir, link)
            if _not_found(full):
                res.add(
                    ERROR,
                    "evidence-file-missing",
                    rid,
                    f"evidence file not found: {link!r} (looked for {full})" + _evidence_hint(link),
                    line,
                )
            continue
        try:
            full, fragment = resolve_evidence_v2(product_dir, link)
        except ValueError as e:
            res.add(ERROR, "evidence-path-invalid", rid, f"evidence {link!r}: {e}", line)
            continue
        if _not_found(full):
            res.add(
                ERROR,
                "evidence-file-missing",
                rid,
                f"evidence file not found: {link!r} (looked for {full})" + _evidence_hint(link, v2=True),
                line,
            )
            continue
        from kubectl_aiconf.submission import artifacts

        kind = artifacts.kind_of(full)
        if kind is None:
            continue
        has_artifact = True
        _check_artifact(res, rid, item.status, link, full, fragment, kind, reports, line)
    if v2 and hybrid and item.status == IMPLEMENTED and not has_artifact:
        from kubectl_aiconf.submission import artifacts

        test = artifacts.AUTO_TESTED.get(rid)
        if test:
            res.add(
                WARNING,
                "artifact-recommended",
                rid,
                f"covered by the automated test {test}: from v1.{HYBRID_FROM_MINOR} on, include "
                "its test artifact (junit.xml, results.json or e2e.log) as evidence",
                line,
            )


def _not_found(path: str) -> bool:
    """os.IsNotExist(os.Stat(path)): only 'no such file' counts, not other stat errors."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return False


def _evidence_hint(link: str, v2: bool = False) -> str:
    if not v2 and "#" in link:
        return "; the v1 CNCF validator takes a #fragment as part of the file name"
    if not v2 and link.startswith("file://"):
        return "; the v1 CNCF validator does not understand file:// (use a relative path)"
    if " " in link.strip():
        return "; evidence must be a path or URL only, without prose"
    return ""


def resolve_evidence_v2(product_dir: str, link: str) -> tuple[str, str]:
    """Resolve a local evidence reference the v2 way: (path on disk, #fragment or "")."""
    raw = link.strip()
    if raw.startswith("file://"):
        raw = raw[len("file://") :]
    fragment = ""
    if "#" in raw:
        raw, fragment = raw.split("#", 1)
    raw = raw.strip()
    if raw.startswith("/"):
        raw = raw[1:]
    if raw == "":
        raise ValueError("empty file path")
    clean_dir = go_clean(product_dir)
    own = go_join(go_base(go_dir(clean_dir)), go_base(clean_dir)) + "/"
    if raw.startswith(own):
        raw = raw[len(own) :]
    elif _OTHER_PRODUCT_DIR.match(raw):
        raise ValueError(f"refers to another product's directory; evidence must live in {product_dir}")
    full = go_join(clean_dir, raw)
    rel = posixpath.relpath(full, clean_dir)
    if rel in (".", "..") or rel.startswith("../"):
        raise ValueError(f"points outside the product directory {product_dir}")
    return full, fragment


def _check_artifact(
    res: FileResult,
    rid: str,
    status: str,
    link: str,
    full: str,
    fragment: str,
    kind: str,
    reports: dict,
    line: int | None,
) -> None:
    from kubectl_aiconf.submission import artifacts

    name = link.split("#", 1)[0]
    if full not in reports:
        try:
            report = artifacts.parse(full, kind)
        except (artifacts.ArtifactError, OSError) as e:
            reports[full] = None
            res.add(ERROR, "artifact-invalid", rid, f"test artifact {name} cannot be read: {e}", line)
            return
        reports[full] = report
        if report.failures:
            res.add(
                ERROR,
                "artifact-failing-tests",
                rid,
                f"test artifact {name} contains failing tests: {', '.join(sorted(report.failures))}",
                line,
            )
    report = reports[full]
    if report is None:
        return
    test = fragment or artifacts.AUTO_TESTED.get(rid, "")
    if not test:
        return
    outcome = report.outcome(test)
    if outcome == artifacts.UNKNOWN:
        res.add(ERROR, "artifact-test-missing", rid, f"test {test} is not in {name}", line)
    elif outcome == artifacts.FAIL:
        res.add(ERROR, "artifact-test-failed", rid, f"test {test} failed in {name}", line)
    elif outcome == artifacts.SKIP and status == IMPLEMENTED:
        res.add(
            ERROR, "artifact-test-skipped", rid, f"status is Implemented but test {test} was skipped in {name}", line
        )


# ----------------------------------------------------------------------------------------------
# Online rules: URL reachability and CNCF membership.


def apply_online(results: list[FileResult], landscape_url: str | None = None, timeout: float | None = None) -> None:
    from kubectl_aiconf.submission import urls

    members = None
    if any(r.vendor for r in results):
        members = urls.fetch_members(landscape_url)
    checks = [e for r in results for e in r.entries if isinstance(e, _UrlCheck)]
    outcome = urls.check_urls([c.url for c in checks], timeout=urls.URL_TIMEOUT if timeout is None else timeout)
    # The network counts as unavailable when no host outside this machine/LAN answered at all.
    public_answers = [o.reached for o in outcome.values() if not o.certain]
    if members is not None and not members.local:
        public_answers.append(members.reached)
    network_down = bool(public_answers) and not any(public_answers)

    for r in results:
        resolved = []
        for e in r.entries:
            if not isinstance(e, _UrlCheck):
                resolved.append(e)
                continue
            o = outcome[e.url]
            if o.ok:
                continue
            if not o.reached and not o.certain and network_down:
                resolved.append(
                    Problem(
                        r.path,
                        NOTICE,
                        "url-unchecked",
                        e.subject,
                        f"{e.what} not checked, network unavailable ({o.detail}): {e.url}",
                        e.line,
                    )
                )
            else:
                resolved.append(
                    Problem(r.path, ERROR, e.rule, e.subject, f"{e.what} does not answer: {e.url} ({o.detail})", e.line)
                )
        r.entries = resolved
        if r.vendor and members is not None:
            _check_vendor(r, r.vendor, members, network_down)


def _check_vendor(r: FileResult, vendor: tuple[str, int | None], members, network_down: bool) -> None:
    name, line = vendor
    if members.names is None:
        why = (
            "network unavailable"
            if network_down and not members.reached and not members.local
            else "could not read the CNCF landscape"
        )
        r.entries.append(
            Problem(
                r.path,
                NOTICE,
                "vendor-unchecked",
                "metadata.vendorName",
                f"not checked against the CNCF member list, {why} ({members.error}): {members.url}",
                line,
            )
        )
        return
    if name in members.names:
        return
    import difflib

    close = difflib.get_close_matches(name, sorted(members.names), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    r.entries.append(
        Problem(
            r.path,
            ERROR,
            "vendor-not-member",
            "metadata.vendorName",
            f"{name!r} does not match any CNCF member on the CNCF landscape; it "
            f"must be the member's name exactly as listed there{hint}",
            line,
        )
    )


# ----------------------------------------------------------------------------------------------
# Command entry point.


def validate_paths(
    paths: list[str],
    offline: bool,
    rules: str = "v2",
    landscape_url: str | None = None,
    timeout: float | None = None,
) -> list[FileResult]:
    """Validate files; raises UsageError for bad arguments or unreadable files."""
    if rules not in RULE_SETS:
        raise UsageError(f"unknown rule set {rules!r}; choose one of: {', '.join(RULE_SETS)}")
    if not paths:
        raise UsageError("no PRODUCT.yaml file given")
    contents = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                contents.append(f.read())
        except OSError as e:
            raise UsageError(f"cannot read {p}: {e.strerror or e}") from None
    results = [check_file(p, data, rules) for p, data in zip(paths, contents)]
    if not offline:
        apply_online(results, landscape_url=landscape_url, timeout=timeout)
    return results


def format_text(results: list[FileResult], offline: bool, rules: str) -> str:
    lines: list[str] = []
    for r in results:
        lines.extend(p.text() for p in r.problems)
        lines.append(f"{r.path}: valid" if r.valid else f"{r.path}: INVALID ({plural(len(r.errors), 'error')})")
    invalid = sum(not r.valid for r in results)
    summary = (
        f"{plural(len(results), 'file')} checked with the {rules} "
        f"CNCF rules: {len(results) - invalid} valid, {invalid} invalid"
    )
    if offline:
        summary += " (offline: URLs and CNCF membership not checked)"
    lines.append(summary)
    return "\n".join(lines)


def format_json(results: list[FileResult]) -> str:
    import json

    return json.dumps([p.to_dict() for r in results for p in r.problems], indent=2)


def run_validate(
    paths: list[str],
    offline: bool,
    rules: str,
    output: str,
    *,
    landscape_url: str | None = None,
    timeout: float | None = None,
) -> int:
    """Validate PRODUCT.yaml files, print the problems to stdout and return the exit code
    (0 valid, 1 invalid). Raises UsageError (exit code 2) for usage problems."""
    if output not in OUTPUTS:
        raise UsageError(f"unknown output format {output!r}; choose one of: {', '.join(OUTPUTS)}")
    results = validate_paths(list(paths), offline, rules, landscape_url=landscape_url, timeout=timeout)
    print(format_json(results) if output == "json" else format_text(results, offline, rules))
    return 0 if all(r.valid for r in results) else 1
