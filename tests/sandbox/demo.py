"""`make demo`: the read-only check, then the accelerator probe on the sandbox's real node.

    python -m tests.sandbox run --scenario ai-platform --real-node -- python tests/sandbox/demo.py PLUGIN...

PLUGIN... is the command of kubectl-aiconf: the zipapp, or `python -m kubectl_aiconf`. The first run reads
the cluster and changes nothing. The second adds `--probe` on the real node (AICONF_SANDBOX_REAL_NODE, set by
`--real-node`): its probe pods really run there (kubelet, containerd, runc), get their devices through the
kubelet's device plugin API from the sandbox's test device plugin, and report what they see; the devices
themselves are simulated. Without a real node (not root), only the read-only check runs.

After the probes the demo lists every requirement's verdict and reason in one line each. Only the real node
runs anything: the scenario's Kueue, KubeRay, gateway and Prometheus are objects with no controller behind
them, so the probes that need one are UNKNOWN or FAIL where the read-only check saw healthy components (and
`check --probe` exits 1); the integration tests run the same probes against the real controllers.

Exit code: 0 when every command ran and gave a verdict (check's exit codes 0, 1 and 3 are verdicts), else
the first other exit code (2 if the probe's result is missing from the report).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

VERDICT_CODES = (0, 1, 3)  # check: all MUSTs pass, a MUST failed, a MUST could not be confirmed
REQUIREMENT = "secure_accelerator_access"
MESSAGE_WIDTH = 100


def banner(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: demo.py PLUGIN... (run it under `python -m tests.sandbox run ... --`)", file=sys.stderr)
        return 2
    plugin = list(argv)
    node, image = os.environ.get("AICONF_SANDBOX_REAL_NODE"), os.environ.get("AICONF_SANDBOX_PROBE_IMAGE")
    banner("kubectl aiconf check: read-only, against the ai-platform scenario")
    if node:
        print(
            f"The scenario's nodes are kwok's (simulated). {node} is a real node (kubelet, containerd, runc) with 4\n"
            "simulated nvidia.com/gpu devices from the sandbox's test device plugin; it runs none of the scenario's\n"
            "workloads (no driver, device plugin or exporter DaemonSet pods); the checks count it like any GPU node.",
            flush=True,
        )
    t0 = time.monotonic()
    rc = subprocess.run([*plugin, "check"]).returncode
    print(f"(check exited {rc} in {time.monotonic() - t0:.1f}s)", flush=True)
    if rc not in VERDICT_CODES:
        return rc
    if not node or not image:
        print("\n(no real node in this sandbox, so no probe: it needs root; see tests/sandbox/README.md)")
        return 0
    args = ["check", "--probe", "--probe-node", node, "--probe-image", image]
    args += ["--probe-mechanism", "device-plugin", "-o", "json"]
    banner(f"kubectl aiconf check --probe on {node}: real kubelet, containerd and runc; simulated devices")
    print("$ kubectl-aiconf " + " ".join(args), flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(
        [*plugin, *args], stdout=subprocess.PIPE, text=True
    )  # progress (stderr) goes straight through
    if proc.returncode not in VERDICT_CODES:
        return proc.returncode
    try:
        results = json.loads(proc.stdout)["requirements"]
        result = next(r for r in results if r["id"] == REQUIREMENT)
    except (ValueError, KeyError, StopIteration):
        print(f"no {REQUIREMENT} result in the report:\n{proc.stdout[:2000]}", file=sys.stderr)
        return 2
    print(f"\n{REQUIREMENT}: {result['status']}\n  {result['message']}")
    for evidence in result.get("evidence") or []:
        print(f"  - {evidence['kind']} {evidence['name']}: {evidence['fact']}")
    print("\nEvery requirement after the probes (id, status, reason, message):")
    for r in results:
        message = r["message"] if len(r["message"]) <= MESSAGE_WIDTH else r["message"][: MESSAGE_WIDTH - 3] + "..."
        print(f"  {r['id']:<27} {r['status']:<8} {r.get('reason', ''):<19} {message}")
    print(
        "Only the real node runs anything here: the scenario's Kueue, KubeRay, gateway and Prometheus are objects\n"
        "with no controller behind them. Where the read-only check found them healthy, their probes find nobody\n"
        "answering (UNKNOWN, or FAIL when a controller should have written a status): that is what probes are for.\n"
        "The integration tests run the same probes against the real Kueue, KubeRay, HPA controller and Karpenter."
    )
    print(f"(check --probe exited {proc.returncode} in {time.monotonic() - t0:.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
