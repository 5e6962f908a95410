"""The files a probe run leaves for a submission (`--evidence-dir`): `junit.xml`, one test case per probe, and
`e2e.log`, what ran with time stamps, in the `=== RUN` / `--- PASS:` form that CNCF's validator reads.

The test cases are named `aiconf-probe/<requirement id>`: they are this tool's probes, not the upstream
conformance suite's tests, whose names (TestSecureAcceleratorAccess, ...) they never take.
"""

from __future__ import annotations

import os
from xml.sax.saxutils import escape, quoteattr

from kubectl_aiconf import __version__
from kubectl_aiconf.probe.suite import Record
from kubectl_aiconf.result import Status
from kubectl_aiconf.text import one_line

JUNIT, E2E_LOG = "junit.xml", "e2e.log"
FILES = (JUNIT, E2E_LOG)
SUITE = "aiconf-probe"


def case_name(requirement: str) -> str:
    return f"{SUITE}/{requirement}"


def outcome(record: Record) -> str:
    """PASS, FAIL or SKIP: a probe that could not decide (UNKNOWN) is skipped, saying why."""
    return {Status.PASS: "PASS", Status.FAIL: "FAIL"}.get(record.result.status, "SKIP")


def _stamp(when) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def junit(records: list[Record]) -> str:
    namespace = records[0].namespace if records else ""
    failures = sum(outcome(r) == "FAIL" for r in records)
    skipped = sum(outcome(r) == "SKIP" for r in records)
    seconds = sum(r.seconds for r in records)
    started = min((r.started for r in records), default=None)
    head = (
        f'<testsuite name="{SUITE}" tests="{len(records)}" failures="{failures}" errors="0" '
        f'skipped="{skipped}" time="{seconds:.3f}"' + (f' timestamp="{_stamp(started)}"' if started else "") + ">"
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="kubectl-aiconf {__version__} probes" tests="{len(records)}" failures="{failures}" '
        f'errors="0" skipped="{skipped}" time="{seconds:.3f}">',
        "  " + head,
        f'    <properties><property name="namespace" value={quoteattr(namespace)}/></properties>',
    ]
    for r in records:
        message = quoteattr(one_line(r.result.message))
        lines.append(
            f'    <testcase classname="kubectl-aiconf.probe" name={quoteattr(case_name(r.probe.id))} '
            f'time="{r.seconds:.3f}">'
        )
        detail = escape("\n".join(str(e) for e in r.result.evidence))
        kind = outcome(r)
        if kind == "FAIL":
            lines.append(f'      <failure message={message} type="{r.result.reason or ""}">{detail}</failure>')
        elif kind == "SKIP":
            lines.append(f"      <skipped message={message}/>")
        log = "\n".join(f"{_stamp(t)} {m}" for t, m in r.log)
        if kind == "PASS":
            log = f"{log}\n{r.result.message}" if log else r.result.message
        if log:
            lines.append(f"      <system-out>{escape(log)}</system-out>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def e2e_log(records: list[Record]) -> str:
    namespace = records[0].namespace if records else ""
    lines = [f"kubectl-aiconf {__version__}: {len(records)} probes in namespace {namespace}"]
    for r in records:
        name = case_name(r.probe.id)
        lines.append(f"=== RUN   {name}")
        lines += [f"    {_stamp(t)} {one_line(m)}" for t, m in r.log]
        lines.append(f"--- {outcome(r)}: {name} ({r.seconds:.2f}s)")
        lines.append(f"    {r.result.status}: {one_line(r.result.message)}")
        lines += [f"    {one_line(str(e))}" for e in r.result.evidence]
    verdict = "FAIL" if any(outcome(r) == "FAIL" for r in records) else "PASS"
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def write(directory: str, records: list[Record]) -> list[str]:
    """Write junit.xml and e2e.log into `directory`; their names. Raises OSError."""
    os.makedirs(directory, exist_ok=True)
    for name, text in ((JUNIT, junit(records)), (E2E_LOG, e2e_log(records))):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    return list(FILES)
