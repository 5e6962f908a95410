"""The plugin against a real control plane with many kwok nodes, next to `kubectl get nodes -o json`.

Prints wall time, API requests and peak memory of `kubectl aiconf check` and of kubectl on the same
sandbox, and their ratios. Run: `.venv/bin/python bench/sandbox_scale.py [--nodes 2000] [--pods 4000]`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import measure, plugin_command  # noqa: E402  (bench/run.py)


def _populate(sb, nodes: int, pods: int, crds: int) -> None:
    from tests.sandbox.kube import request

    started = time.perf_counter()
    gpu = nodes // 10
    sb.create_nodes(gpu, gpu=True, prefix="bench-gpu")
    sb.create_nodes(nodes - gpu, prefix="bench-cpu")
    client = sb.admin_client()
    for i in range(10):
        sb.create_namespace(f"bench-{i}")

    def pod(i: int) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p-{i}", "namespace": f"bench-{i % 10}", "labels": {"app": f"a{i % 50}"}},
            "spec": {
                "nodeName": f"bench-cpu-{i % (nodes - gpu)}",
                "containers": [
                    {"name": "c", "image": "registry.example/app:1", "resources": {"requests": {"cpu": "10m"}}}
                ],
            },
        }
        request(client, "POST", f"/api/v1/namespaces/bench-{i % 10}/pods", body=body)

    def crd(i: int) -> None:
        group = f"bench{i % 10}.example.io"
        body = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"things{i}.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": f"things{i}", "kind": f"Thing{i}"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    }
                ],
            },
        }
        request(client, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(pod, range(pods)))
        list(pool.map(crd, range(crds)))
    print(
        f"populated {nodes} nodes ({gpu} with GPUs), {pods} pods, {crds} CRDs in {time.perf_counter() - started:.0f}s"
    )


def _run(cmd: list[str], runs: int) -> tuple[float, float, list[str]]:
    results = [measure(cmd) for _ in range(runs)]
    failed = [r for r in results if r["rc"] not in (0, 1, 3)]
    if failed:
        sys.exit(f"{' '.join(cmd[:3])} failed: {failed[0]['stderr']}")
    return (
        statistics.median(r["wall"] for r in results),
        max(r["rss_mb"] for r in results),
        [r["stderr"] for r in results],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--pods", type=int, default=4000)
    parser.add_argument("--crds", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from tests.sandbox.sandbox import Sandbox

    plugin, label = plugin_command()
    with Sandbox(verbose=False) as sb, tempfile.TemporaryDirectory() as cache:
        sb.apply_scenario("ai-platform")
        _populate(sb, args.nodes, args.pods, args.crds)
        kubeconfig = str(sb.admin_kubeconfig)
        wall, rss, errs = _run(plugin + ["--debug", "check", "-o", "json", "--kubeconfig", kubeconfig], args.runs)
        requests = int(re.search(r"(\d+) API requests", errs[0]).group(1))
        objects = re.search(r"(\d+) objects kept", errs[0]).group(1)
        kubectl = [
            str(sb.kubectl),
            "--kubeconfig",
            kubeconfig,
            "--cache-dir",
            cache,
            "get",
            "nodes",
            "-o",
            "json",
            "-v=6",
        ]
        k_wall, k_rss, k_errs = _run(kubectl, args.runs)
        # kubectl -v=6 logs one line per response: `"Response" verb="GET" url=...` (older: `GET https://...`)
        k_requests = len(re.findall(r'verb="(?:GET|POST)"|\b(?:GET|POST) https://', k_errs[-1]))
    print(
        f"kubectl aiconf check ({label}), median of {args.runs}: {wall:.2f}s, {requests} API requests, "
        f"{objects} objects kept, peak {rss:.0f} MB"
    )
    print(
        f"kubectl get nodes -o json (warm discovery cache), median of {args.runs}: {k_wall:.2f}s, "
        f"{k_requests} API requests, peak {k_rss:.0f} MB"
    )
    print(
        f"ratios plugin/kubectl: time {wall / k_wall:.1f}x, requests {requests / max(k_requests, 1):.1f}x, "
        f"memory {rss / k_rss:.1f}x"
    )


if __name__ == "__main__":
    main()
