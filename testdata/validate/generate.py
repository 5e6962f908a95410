"""Write the PRODUCT.yaml fixtures of tests/test_validate*.py.

Run from anywhere: ``python testdata/validate/generate.py``. Every fixture is a made-up product
("Example Platform" by "Example Vendor"); each one breaks (or deliberately keeps) one rule of
CNCF's PRODUCT.yaml validator. tests/test_validate_fixtures.py checks that the committed files
match this script, and holds the expected verdict of each fixture.

Fixtures under ``online/`` contain the token ``__BASE__``, which the online tests replace with
the address of a local HTTP server.
"""

from __future__ import annotations

import copy
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "__BASE__"

# The checklist ids per version, written down independently of kubectl_aiconf.catalogue so the
# fixtures also catch a catalogue mistake.
CHECKLISTS = {
    "1.33": [("accelerators", "dra_support", "SHOULD"), ("networking", "ai_inference", "MUST"),
             ("schedulingOrchestration", "gang_scheduling", "MUST"),
             ("schedulingOrchestration", "cluster_autoscaling", "MUST"),
             ("schedulingOrchestration", "pod_autoscaling", "MUST"),
             ("observability", "accelerator_metrics", "MUST"),
             ("observability", "ai_service_metrics", "MUST"),
             ("security", "secure_accelerator_access", "MUST"),
             ("operator", "robust_controller", "MUST")],
}
CHECKLISTS["1.34"] = [(c, i, "MUST" if i == "dra_support" else lv) for c, i, lv in CHECKLISTS["1.33"]]
CHECKLISTS["1.35"] = (CHECKLISTS["1.34"][:1]
                      + [("accelerators", i, "SHOULD") for i in
                         ("driver_runtime_management", "gpu_sharing", "virtualized_accelerator")]
                      + CHECKLISTS["1.34"][1:])
CHECKLISTS["1.36"] = ([("accelerators", i, "SHOULD") for i in
                       ("driver_runtime_management", "gpu_sharing", "virtualized_accelerator")]
                      + [("networking", "ai_inference", "MUST")]
                      + [("networking", i, "SHOULD") for i in
                         ("advanced_inference_ingress", "high_performance_networking",
                          "disaggregated_inference")]
                      + CHECKLISTS["1.34"][2:7]
                      + [CHECKLISTS["1.34"][7], ("security", "workload_sandboxing", "SHOULD"),
                         CHECKLISTS["1.34"][8]])
CHECKLISTS["1.37"] = list(CHECKLISTS["1.36"])
CHECKLISTS["1.36"] = [r for r in CHECKLISTS["1.36"] if r[1] != "workload_sandboxing"]


def metadata(version: str) -> list[tuple[str, str]]:
    """(key, raw YAML value) pairs; values are written verbatim."""
    return [
        ("kubernetesVersion", f"v{version}"),
        ("platformName", '"Example Platform"'),
        ("platformVersion", '"2.1"'),
        ("vendorName", '"Example Vendor"'),
        ("websiteUrl", '"https://www.example.com/platform"'),
        ("repoUrl", '"https://git.example.com/example/platform"'),
        ("documentationUrl", '"https://docs.example.com/platform"'),
        ("productLogoUrl", '"https://www.example.com/logo.svg"'),
        ("description", '"A made-up Kubernetes platform used as a validator test fixture."'),
        ("contactEmailAddress", '"conformance@example.com"'),
        ("k8sConformanceUrl",
         f'"https://github.com/cncf/k8s-conformance/tree/master/v{version}/example-platform"'),
    ]


def items(version: str) -> list[dict]:
    out = []
    for category, rid, level in CHECKLISTS[version]:
        item = {"category": category, "id": rid, "level": level,
                "description": f'"Checklist item {rid}."'}
        if level == "MUST":
            item.update(status='"Implemented"',
                        evidence=[f'"https://docs.example.com/ai/{rid}"'],
                        notes='"Shown in the linked documentation."')
        else:
            item.update(status='""', evidence=[], notes='""')
        out.append(item)
    return out


def render(meta, reqs, header: str = "", extra_top: str = "", spec_key: str = "spec",
           meta_key: str = "metadata") -> str:
    lines = ["# Example PRODUCT.yaml, test fixture of kubectl-aiconf."]
    if header:
        lines.append(header)
    if meta is not None:
        lines.append(f"{meta_key}:")
        lines += [f"  {k}: {v}" if v is not None else f"  {k}:" for k, v in meta]
    if reqs is not None:
        lines.append(f"{spec_key}:")
        current = None
        for it in reqs:
            if it["category"] != current:
                current = it["category"]
                lines.append(f"  {current}:")
            lines.append(f"    - id: {it['id']}")
            for key in ("description", "level", "status"):
                if key in it:
                    lines.append(f"      {key}: {it[key]}")
            ev = it.get("evidence")
            if isinstance(ev, str):
                lines.append(f"      evidence: {ev}")
            elif ev is not None and not ev:
                lines.append("      evidence: []")
            elif ev is not None:
                lines.append("      evidence:")
                lines += [f"        - {e}" for e in ev]
            if "notes" in it:
                lines.append(f"      notes: {it['notes']}")
            lines += it.get("raw", [])
    if extra_top:
        lines.append(extra_top)
    return "\n".join(lines) + "\n"


def edit(reqs, rid, **changes):
    for it in reqs:
        if it["id"] == rid:
            it.update(changes)
            return reqs
    raise KeyError(rid)


def drop(reqs, rid):
    return [it for it in reqs if it["id"] != rid]


def set_meta(meta, key, value):
    out = [(k, value if k == key else v) for k, v in meta]
    if key not in dict(meta):
        out.append((key, value))
    return out


def del_meta(meta, *keys):
    return [(k, v) for k, v in meta if k not in keys]


GANG_MD = "# Gang scheduling\n\nKueue admitted a 4-pod job only once all 4 GPUs were free.\n"

JUNIT_PASS = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="ai-conformance" tests="3">
    <testcase name="TestSecureAcceleratorAccess" time="3.1"/>
    <testcase name="TestGangScheduling" time="12.0"/>
    <testcase name="TestAcceleratorClusterAutoscaling" time="240.5"/>
  </testsuite>
</testsuites>
"""

JUNIT_GANG_FAILS = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="ai-conformance" tests="2">
  <testcase name="TestSecureAcceleratorAccess" time="3.1"/>
  <testcase name="TestGangScheduling" time="600.0">
    <failure message="timed out">pods of the gang were scheduled one by one</failure>
  </testcase>
</testsuite>
"""

JUNIT_SKIPS = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="ai-conformance" tests="3">
    <testcase name="TestSecureAcceleratorAccess"><skipped message="no GPU nodes"/></testcase>
    <testcase name="TestGangScheduling" time="12.0"/>
    <testcase name="TestAcceleratorClusterAutoscaling"><skipped message="no autoscaler"/></testcase>
  </testsuite>
</testsuites>
"""

RESULTS_JSON_SUBTESTS = "\n".join([
    '{"Action":"run","Package":"example.com/conformance","Test":"TestGangScheduling"}',
    '{"Action":"run","Package":"example.com/conformance","Test":"TestGangScheduling/kueue"}',
    '{"Action":"pass","Package":"example.com/conformance","Test":"TestGangScheduling/kueue"}',
    '{"Action":"skip","Package":"example.com/conformance","Test":"TestGangScheduling/volcano"}',
    '{"Action":"output","Package":"example.com/conformance","Output":"ok\\n"}',
    '{"Action":"pass","Package":"example.com/conformance"}',
]) + "\n"

RESULTS_JSON_BUILD_FAILURE = "\n".join([
    '{"Action":"output","Package":"example.com/conformance","Output":"# build failed\\n"}',
    '{"Action":"fail","Package":"example.com/conformance"}',
]) + "\n"

E2E_LOG_PASS = """=== RUN   TestSecureAcceleratorAccess
=== RUN   TestSecureAcceleratorAccess/isolated
    --- PASS: TestSecureAcceleratorAccess/isolated (0.80s)
--- PASS: TestSecureAcceleratorAccess (1.20s)
PASS
ok  \texample.com/conformance\t1.3s
"""

E2E_LOG_GINKGO = """Running Suite: example AI conformance suite
Will run 3 of 3 specs
...
Ran 3 of 3 Specs in 42.0 seconds
SUCCESS! -- 3 Passed | 0 Failed | 0 Pending | 0 Skipped
"""


def fixtures() -> dict[str, str]:
    """relative path -> file content"""
    out: dict[str, str] = {}

    def product(rel: str, text: str, files: dict[str, str] | None = None) -> None:
        out[f"{rel}/PRODUCT.yaml"] = text
        for name, content in (files or {}).items():
            out[f"{rel}/{name}"] = content

    # ---- passing fixtures --------------------------------------------------------------------
    product("v1.33/pass-minimal", render(metadata("1.33"), items("1.33")))

    reqs = edit(items("1.34"), "gang_scheduling",
                evidence=['"evidence/gang-scheduling.md"', '"https://docs.example.com/ai/kueue"'])
    product("v1.34/pass-complete", render(metadata("1.34"), reqs),
            {"evidence/gang-scheduling.md": GANG_MD})

    snake = [("kubernetes_version", "v1.34"), ("platform_name", "Example Platform"),
             ("platform_version", "'2.1'"), ("vendor_name", "Example Vendor"),
             ("website_url", "https://www.example.com/platform"),
             ("documentation_url", "https://docs.example.com/platform"),
             ("product_logo_url", "https://www.example.com/logo.svg"),
             ("description", "A made-up platform with snake_case metadata keys."),
             ("contact_email_address", "conformance@example.com"),
             ("k8s_conformance_url",
              "https://github.com/cncf/k8s-conformance/tree/main/v1.34/example-platform/")]
    product("v1.34/pass-snake-case", render(snake, items("1.34")))

    reqs = items("1.34")
    edit(reqs, "dra_support", level="SHOULD", description='"Edited description."')
    edit(reqs, "cluster_autoscaling", evidence=[])
    edit(reqs, "pod_autoscaling", evidence=['""', "~", '"https://docs.example.com/ai/hpa"'])
    edit(reqs, "accelerator_metrics", notes="1.5")
    reqs.append({"category": "operator", "id": "extra_item", "level": "MUST",
                 "status": '"Whatever"', "evidence": ['"nowhere.md"'], "notes": '""'})
    reqs.append({"category": "futureCategory", "id": "future_item", "status": '"Unknown"'})
    product("v1.34/pass-lenient",
            render(del_meta(metadata("1.34"), "repoUrl"), reqs,
                   extra_top="contactEmailAddress: ignored-at-top-level@example.com\n"
                             "notes: [extra, top-level, keys, are, ignored]"))

    reqs = items("1.35")
    edit(reqs, "driver_runtime_management", status='"Partially Implemented"',
         evidence=['"https://docs.example.com/ai/drivers"'], notes='"Driver upgrades are manual."')
    edit(reqs, "gpu_sharing", status='"N/A"', notes='"The platform offers no GPU models that can be shared."')
    edit(reqs, "virtualized_accelerator", status='"Not Implemented"')
    product("v1.35/pass-should-statuses", render(metadata("1.35"), reqs))

    product("v1.36/pass", render(metadata("1.36"), items("1.36")))

    flow = render(metadata("1.34"), items("1.34")).replace(
        '      evidence:\n        - "https://docs.example.com/ai/gang_scheduling"',
        '      evidence: ["https://docs.example.com/ai/gang_scheduling", '
        "'https://docs.example.com/ai/kueue']").replace(
        '      notes: "Shown in the linked documentation."\n  observability:',
        "      notes: |\n        Scales on a custom metric.\n        See the linked page.\n"
        "  observability:")
    product("v1.34/pass-yaml-styles", flow)

    # The level comes from the checklist, not from the product's copy of it.
    product("v1.34/level-from-checklist",
            render(metadata("1.34"), edit(items("1.34"), "dra_support", level="SHOULD",
                                          status='""', evidence=[], notes='""')))
    # Decoding covers entries the rules then ignore.
    reqs = items("1.34")
    reqs.append({"category": "operator", "id": "extra_item", "status": '"Implemented"',
                 "evidence": "N/A"})
    product("v1.34/extra-item-bad-yaml", render(metadata("1.34"), reqs))

    # ---- path and version --------------------------------------------------------------------
    product("no-version/example", render(metadata("1.34"), items("1.34")))
    product("v1.32/unknown-version", render(metadata("1.32"), items("1.34")))

    # ---- YAML that CNCF's Go decoder rejects -------------------------------------------------
    product("v1.34/yaml-syntax", render(metadata("1.34"), items("1.34")).replace(
        '  platformName: "Example Platform"', '  platformName: "Example Platform'))
    product("v1.34/evidence-scalar",
            render(metadata("1.34"), edit(items("1.34"), "cluster_autoscaling",
                                               status='"Implemented"', evidence="N/A")))
    product("v1.34/evidence-mapping",
            render(metadata("1.34"), edit(
                items("1.34"), "ai_inference",
                evidence=None, raw=["      evidence:", "        docs: https://docs.example.com/gw"])))
    product("v1.34/evidence-entry-mapping",
            render(metadata("1.34"), edit(
                items("1.34"), "robust_controller",
                evidence=["url: https://docs.example.com/ai/kuberay"])))
    product("v1.34/status-list",
            render(metadata("1.34"), edit(items("1.34"), "gang_scheduling",
                                               status="[Implemented]")))
    text = render(metadata("1.34"), items("1.34")).replace(
        "  networking:\n    - id: ai_inference",
        "  networking:\n    id: ai_inference")
    text = text.replace('''      description: "Checklist item ai_inference."
      level: MUST
      status: "Implemented"
      evidence:
        - "https://docs.example.com/ai/ai_inference"
      notes: "Shown in the linked documentation."''', '''    description: "Checklist item ai_inference."
    level: MUST
    status: "Implemented"
    evidence:
      - "https://docs.example.com/ai/ai_inference"
    notes: "Shown in the linked documentation."''')
    product("v1.34/category-mapping", text)
    product("v1.34/duplicate-key",
            render(metadata("1.34"), edit(items("1.34"), "pod_autoscaling",
                                               raw=['      status: "Not Implemented"'])))
    product("v1.34/not-a-mapping", "# A list is not a PRODUCT.yaml.\n- metadata: {}\n- spec: {}\n")
    product("v1.34/metadata-not-mapping",
            render(None, items("1.34"), header="metadata:\n  - platformName: Example Platform"))

    # ---- metadata ----------------------------------------------------------------------------
    meta = set_meta(metadata("1.34"), "platformVersion", "1.0")
    meta = set_meta(meta, "description", "true")
    meta = set_meta(meta, "platformName", "2025-10-01")
    meta = set_meta(meta, "contactEmailAddress", "[conformance@example.com]")  # a flow list
    product("v1.34/metadata-not-string", render(meta, items("1.34")))
    product("v1.34/metadata-missing",
            render(del_meta(metadata("1.34"), "contactEmailAddress", "k8sConformanceUrl",
                            "productLogoUrl"), items("1.34")))
    meta = set_meta(metadata("1.34"), "vendorName", None)
    meta = set_meta(meta, "websiteUrl", "~")
    meta.append(("website_url", "https://www.example.com/platform"))
    product("v1.34/metadata-null", render(meta, items("1.34")))
    meta = set_meta(metadata("1.34"), "platformName", '""')
    meta = set_meta(meta, "repoUrl", "''")
    product("v1.34/metadata-empty", render(meta, items("1.34")))
    meta = set_meta(metadata("1.34"), "platformName", '"[Platform Name]"')
    meta = set_meta(meta, "repoUrl", '"[Repository URL]"')
    product("v1.34/metadata-placeholder", render(meta, items("1.34")))
    product("v1.34/metadata-section-missing", render(None, items("1.34")))
    product("v1.34/k8s-conformance-url",
            render(set_meta(metadata("1.34"), "k8sConformanceUrl",
                            '"https://github.com/cncf/k8s-conformance/blob/master/v1.34/example"'),
                   items("1.34")))
    product("v1.34/logo-not-svg",
            render(set_meta(metadata("1.34"), "productLogoUrl",
                            '"https://www.example.com/logo.png"'), items("1.34")))

    # ---- spec --------------------------------------------------------------------------------
    product("v1.34/spec-section-missing", render(metadata("1.34"), None))
    product("v1.34/category-missing",
            render(metadata("1.34"),
                   [it for it in items("1.34") if it["category"] != "observability"]))
    reqs = drop(items("1.34"), "pod_autoscaling")
    gang = next(it for it in reqs if it["id"] == "gang_scheduling")
    reqs.remove(gang)
    reqs.insert(2, dict(gang, category="networking"))  # listed under the wrong category
    product("v1.34/requirement-missing", render(metadata("1.34"), reqs))
    reqs = [it for it in items("1.35") if it["level"] == "MUST"]
    product("v1.35/should-missing", render(metadata("1.35"), reqs))
    reqs = edit(items("1.34"), "ai_inference", status='"implemented"')
    edit(reqs, "robust_controller", status="Done")
    product("v1.34/status-invalid", render(metadata("1.34"), reqs))
    product("v1.33/should-evidence-no-status",
            render(metadata("1.33"),
                   edit(items("1.33"), "dra_support",
                        evidence=['"https://docs.example.com/ai/dra"'])))
    reqs = edit(items("1.34"), "ai_inference", status='"Partially Implemented"')
    edit(reqs, "accelerator_metrics", status='"N/A"', evidence=[],
         notes='"Metrics are left to the customer."')
    product("v1.34/must-not-implemented", render(metadata("1.34"), reqs))
    product("v1.34/cluster-autoscaling-na",
            render(metadata("1.34"),
                   edit(items("1.34"), "cluster_autoscaling", status='"N/A"', evidence=[],
                        notes='"The platform runs on customer hardware and has no autoscaler."')))
    product("v1.34/cluster-autoscaling-not-implemented",
            render(metadata("1.34"),
                   edit(items("1.34"), "cluster_autoscaling", status='"Not Implemented"',
                        evidence=[])))
    product("v1.35/na-without-notes",
            render(metadata("1.35"),
                   edit(items("1.35"), "gpu_sharing", status='"N/A"', notes='""')))
    product("v1.35/na-blank-notes",
            render(metadata("1.35"),
                   edit(items("1.35"), "gpu_sharing", status='"N/A"', notes='"   "')))

    # ---- local evidence ----------------------------------------------------------------------
    for name, link in (("evidence-file-missing", '"docs/missing.md"'),
                       ("evidence-fragment", '"./gang.md#kueue"'),
                       ("evidence-file-url", '"file://gang.md"'),
                       ("evidence-prose", '"see gang.md"')):
        product(f"v1.34/{name}",
                render(metadata("1.34"),
                       edit(items("1.34"), "gang_scheduling", evidence=[link])),
                {"gang.md": GANG_MD})

    # ---- v2: evidence paths and test artifacts -----------------------------------------------
    def v136(rel: str, links: dict[str, list[str]], statuses: dict[str, tuple] | None = None,
             files: dict[str, str] | None = None) -> None:
        reqs = items("1.36")
        for rid, ev in links.items():
            edit(reqs, rid, evidence=[f'"{e}"' for e in ev])
        for rid, (status, notes) in (statuses or {}).items():
            edit(reqs, rid, status=f'"{status}"', notes=f'"{notes}"')
        product(rel, render(metadata("1.36"), reqs), files)

    v136("v1.36/v2-junit-pass",
         {"secure_accelerator_access": ["junit.xml"], "gang_scheduling": ["junit.xml"],
          "cluster_autoscaling": ["file://junit.xml#TestAcceleratorClusterAutoscaling"]},
         files={"junit.xml": JUNIT_PASS})
    v136("v1.36/v2-own-prefix",
         {"gang_scheduling": ["file://v1.36/v2-own-prefix/junit.xml#TestGangScheduling"]},
         files={"junit.xml": JUNIT_PASS})
    v136("v1.36/v2-other-product",
         {"gang_scheduling": ["file://v1.36/v2-junit-pass/junit.xml#TestGangScheduling"]})
    v136("v1.36/v2-evidence-escape", {"gang_scheduling": ["../v2-junit-pass/junit.xml"]})
    v136("v1.36/v2-junit-fail",
         {"secure_accelerator_access": ["junit.xml"], "gang_scheduling": ["junit.xml"]},
         files={"junit.xml": JUNIT_GANG_FAILS})
    v136("v1.36/v2-junit-skipped",
         {"secure_accelerator_access": ["junit.xml"]}, files={"junit.xml": JUNIT_SKIPS})
    v136("v1.36/v2-skipped-na",
         {"cluster_autoscaling": ["junit.xml"]},
         {"cluster_autoscaling": ("N/A", "Bare-metal platform without a cluster autoscaler.")},
         files={"junit.xml": JUNIT_SKIPS})
    v136("v1.36/v2-test-missing",
         {"robust_controller": ["junit.xml#TestRobustController"]}, files={"junit.xml": JUNIT_PASS})
    v136("v1.36/v2-results-json", {"gang_scheduling": ["results.json"]},
         files={"results.json": RESULTS_JSON_SUBTESTS})
    v136("v1.36/v2-results-json-build-failure", {"robust_controller": ["results.json"]},
         files={"results.json": RESULTS_JSON_BUILD_FAILURE})
    v136("v1.36/v2-e2e-log", {"secure_accelerator_access": ["e2e.log"]},
         files={"e2e.log": E2E_LOG_PASS})
    v136("v1.36/v2-e2e-log-no-results", {"secure_accelerator_access": ["e2e.log"]},
         files={"e2e.log": E2E_LOG_GINKGO})
    v136("v1.36/v2-junit-invalid", {"gang_scheduling": ["junit.xml"]},
         files={"junit.xml": "Ran 12 tests, all passed.\n"})

    product("v1.37/v2-hybrid-no-artifacts", render(metadata("1.37"), items("1.37")))
    reqs = items("1.37")
    for rid in ("secure_accelerator_access", "gang_scheduling", "cluster_autoscaling"):
        edit(reqs, rid, evidence=['"file://junit.xml"', f'"https://docs.example.com/ai/{rid}"'])
    product("v1.37/v2-hybrid-artifacts", render(metadata("1.37"), reqs),
            files={"junit.xml": JUNIT_PASS})

    # ---- online: URLs point at the test's local HTTP server ----------------------------------
    def online_meta(**over):
        meta = metadata("1.34")
        base = {"websiteUrl": f'"{BASE}/ok"', "repoUrl": f'"{BASE}/head-not-allowed"',
                "documentationUrl": f'"{BASE}/redirect"', "productLogoUrl": f'"{BASE}/logo.svg"'}
        base.update(over)
        for k, v in base.items():
            meta = set_meta(meta, k, v)
        return meta

    def online_items(**links):
        reqs = items("1.34")
        for it in reqs:
            it["evidence"] = [f'"{BASE}/ok/{it["id"]}"']
        for rid, ev in links.items():
            edit(reqs, rid, evidence=[f'"{e}"' for e in ev])
        return reqs

    product("online/v1.34/urls-ok", render(online_meta(), online_items()))
    product("online/v1.34/urls-broken",
            render(online_meta(websiteUrl=f'"{BASE}/server-error"',
                               documentationUrl='"http://127.0.0.1:__CLOSED_PORT__/docs"'),
                   online_items(gang_scheduling=[f"{BASE}/missing"])))
    product("online/v1.34/vendor-not-member",
            render(set_meta(online_meta(), "vendorName", '"Exampel Vendor"'), online_items()))
    product("online/v1.34/public-urls",
            render(metadata("1.34"),
                   [dict(it, evidence=[f'"https://docs.example.invalid/ai/{it["id"]}"'])
                    for it in items("1.34")]))
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for rel, content in sorted(fixtures().items()):
        path = os.path.join(HERE, rel)
        try:
            with open(path, encoding="utf-8") as f:
                same = f.read() == content
        except FileNotFoundError:
            same = False
        if same:
            continue
        stale.append(rel)
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
    if check and stale:
        print("stale fixtures:", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
