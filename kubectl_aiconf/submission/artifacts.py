"""Test artifacts that the newer ("v2", hybrid verification) CNCF validator reads as evidence.

Only three file names count, compared case-insensitively on the base name: ``junit.xml``
(JUnit XML, a ``<testsuites>`` or bare ``<testsuite>`` root), ``results.json`` (``go test
-json`` events) and ``e2e.log`` (``go test -v`` output with ``--- PASS/FAIL/SKIP:`` lines).
Anything else referenced as evidence is only checked for existence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

PASS, FAIL, SKIP, UNKNOWN = "passed", "failed", "skipped", "not found"

JUNIT, GO_TEST_JSON, E2E_LOG = "junit", "go-test-json", "e2e-log"
_CANONICAL = {"junit.xml": JUNIT, "results.json": GO_TEST_JSON, "e2e.log": E2E_LOG}

# Requirements covered by the upstream AI conformance test suite, and the test that covers each.
AUTO_TESTED = {
    "secure_accelerator_access": "TestSecureAcceleratorAccess",
    "gang_scheduling": "TestGangScheduling",
    "cluster_autoscaling": "TestAcceleratorClusterAutoscaling",
}


class ArtifactError(ValueError):
    pass


@dataclass
class Report:
    tests: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, name: str, outcome: str) -> None:
        # A later result replaces an earlier one, except that a failure is never downgraded.
        if self.tests.get(name) == FAIL:
            return
        self.tests[name] = outcome
        if outcome == FAIL:
            self.failures.append(name)

    def outcome(self, name: str) -> str:
        """The named test's outcome; subtests (name/...) aggregate when there is no exact entry."""
        if name in self.tests:
            return self.tests[name]
        subs = [o for n, o in self.tests.items() if n.startswith(name + "/")]
        if not subs:
            return UNKNOWN
        if FAIL in subs:
            return FAIL
        if all(o == SKIP for o in subs):
            return SKIP
        return PASS


def kind_of(path: str) -> str | None:
    return _CANONICAL.get(os.path.basename(path).lower())


def parse(path: str, kind: str) -> Report:
    with open(path, "rb") as f:
        data = f.read()
    if kind == JUNIT:
        return parse_junit(data)
    if kind == GO_TEST_JSON:
        return parse_go_test_json(data)
    return parse_e2e_log(data)


_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']*)["']""")


def parse_junit(data: bytes) -> Report:
    import xml.etree.ElementTree as ET

    m = _XML_DECL_ENCODING.match(data)
    if m and m.group(1).decode("ascii", "replace").lower() != "utf-8":
        # Go's encoding/xml refuses other declared encodings unless given a charset reader.
        raise ArtifactError(
            f"JUnit XML declares encoding {m.group(1).decode('ascii', 'replace')!r}; only UTF-8 is read"
        )
    parser: ET.XMLPullParser = ET.XMLPullParser(events=("start", "end"))
    root = None
    depth = 0
    complete = False
    try:
        parser.feed(data)
        for event, elem in parser.read_events():  # type: ignore[misc]  # typeshed: (event, element) pairs
            if event == "start":
                if root is None:
                    root = elem
                depth += 1
                continue
            depth -= 1
            if depth == 0:
                complete = True  # like Go's Decoder.Decode: the first element only, rest ignored
                break
    except ET.ParseError as e:
        raise ArtifactError(f"not valid JUnit XML: {e}") from None
    if root is None:
        raise ArtifactError("not valid JUnit XML: no root element")
    if not complete:
        raise ArtifactError("not valid JUnit XML: the root element is never closed")
    report = Report()

    def walk(node) -> None:
        for child in node:
            if _local(child.tag) == "testcase":
                names = {_local(c.tag) for c in child}
                name = child.get("name", "")
                if "failure" in names or "error" in names:
                    report.record(name, FAIL)
                elif "skipped" in names:
                    report.record(name, SKIP)
                else:
                    report.record(name, PASS)
        for child in node:
            if _local(child.tag) == "testsuite":
                walk(child)

    walk(root)
    if not report.tests:
        raise ArtifactError("no <testcase> elements in the JUnit XML")
    return report


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_GO_EVENT_FIELDS = {"action": "Action", "package": "Package", "test": "Test"}


def parse_go_test_json(data: bytes) -> Report:
    import json

    report = Report()
    package_failures: list[str] = []
    text = data.decode("utf-8", "replace")
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line, object_pairs_hook=list)
        except ValueError as e:
            raise ArtifactError(f"line {number} is not a go test -json event: {e}") from None
        if obj is None:
            continue
        if not isinstance(obj, list):
            raise ArtifactError(f"line {number} is not a JSON object")
        event = {"Action": "", "Package": "", "Test": ""}
        for key, value in obj:  # Go matches struct fields case-insensitively; the last one wins
            name = _GO_EVENT_FIELDS.get(key.lower())
            if name is None or value is None:
                continue
            if not isinstance(value, str):
                raise ArtifactError(f"line {number}: field {key!r} is not a string")
            event[name] = value
        outcome = {"pass": PASS, "fail": FAIL, "skip": SKIP}.get(event["Action"])
        if outcome is None:
            continue
        if not event["Test"]:
            if outcome == FAIL:
                package_failures.append(event["Package"])
            continue
        report.record(event["Test"], outcome)
    if not report.failures:
        # A package that failed without a failing test did not build or panicked.
        report.failures.extend(f"package {p}" for p in package_failures)
    if not report.tests and not report.failures:
        raise ArtifactError("no test events in the go test -json output")
    return report


_RESULT_LINE = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", re.ASCII)


def parse_e2e_log(data: bytes) -> Report:
    report = Report()
    outcomes = {"PASS": PASS, "FAIL": FAIL, "SKIP": SKIP}
    for line in data.decode("utf-8", "replace").split("\n"):
        m = _RESULT_LINE.match(line.rstrip("\r"))
        if m:
            report.record(m.group(2), outcomes[m.group(1)])
    if not report.tests:
        raise ArtifactError("no '--- PASS/FAIL/SKIP: <test>' result lines in the log")
    return report
