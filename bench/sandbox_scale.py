"""The plugin against a real control plane with many kwok nodes, next to `kubectl get nodes -o json`.

Prints wall time, API requests, objects kept and peak memory of `kubectl aiconf check` and of kubectl on
the same sandbox in the same run, and their ratios; with several sizes, one line per size (a scaling curve,
the cluster grown in place between sizes).

    .venv/bin/python bench/sandbox_scale.py                                  # 5,000 nodes, 20,000 pods, 200 CRDs
    .venv/bin/python bench/sandbox_scale.py --nodes 1000,5000,10000          # the curve (pods: 4 per node)
    .venv/bin/python bench/sandbox_scale.py --nodes 5000 --hold              # populate, print KUBECONFIG, wait
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import measure, plugin_command  # noqa: E402  (bench/run.py)

NAMESPACES = 10
GPU_SHARE = 10  # one node in ten has GPUs


class Population:
    """What has been created so far, so that a cluster can grow from one size to the next."""

    def __init__(self, sb) -> None:  # type: ignore[no-untyped-def]
        self.sb = sb
        self.gpu_nodes = self.cpu_nodes = self.pods = self.crds = 0
        for i in range(NAMESPACES):
            sb.create_namespace(f"bench-{i}")

    def grow(self, nodes: int, pods: int, crds: int) -> None:
        started = time.perf_counter()
        gpu = nodes // GPU_SHARE
        if gpu > self.gpu_nodes:
            self.sb.create_nodes(gpu - self.gpu_nodes, gpu=True, prefix="bench-gpu", start=self.gpu_nodes)
            self.gpu_nodes = gpu
        if nodes - gpu > self.cpu_nodes:
            self.sb.create_nodes(nodes - gpu - self.cpu_nodes, prefix="bench-cpu", start=self.cpu_nodes)
            self.cpu_nodes = nodes - gpu
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(self._pod, range(self.pods, pods)))
            list(pool.map(self._crd, range(self.crds, crds)))
        self.pods, self.crds = max(self.pods, pods), max(self.crds, crds)
        print(
            f"cluster: {nodes} nodes ({gpu} with GPUs), {self.pods} pods in {NAMESPACES} namespaces, "
            f"{self.crds} CRDs (grown in {time.perf_counter() - started:.0f}s)",
            flush=True,
        )

    def _pod(self, i: int) -> None:
        from tests.sandbox.kube import request

        ns = f"bench-{i % NAMESPACES}"
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p-{i}", "namespace": ns, "labels": {"app": f"a{i % 50}"}},
            "spec": {
                "nodeName": f"bench-cpu-{i % self.cpu_nodes}",
                "containers": [
                    {"name": "c", "image": "registry.example/app:1", "resources": {"requests": {"cpu": "10m"}}}
                ],
            },
        }
        request(self.sb.admin_client(), "POST", f"/api/v1/namespaces/{ns}/pods", body=body)

    def _crd(self, i: int) -> None:
        from tests.sandbox.kube import request

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
        request(self.sb.admin_client(), "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=body)


@contextlib.contextmanager
def populated_sandbox(nodes: int, pods: int, crds: int) -> Iterator:
    """A sandbox with the ai-platform scenario and `nodes` kwok nodes, `pods` pods and `crds` CRDs."""
    from tests.sandbox.sandbox import Sandbox

    with Sandbox(verbose=False) as sb:
        sb.apply_scenario("ai-platform")
        Population(sb).grow(nodes, pods, crds)
        yield sb


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


def compare(sb, runs: int, baseline: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The commands, `runs` times each, alternating so that all see the same machine."""
    plugin, _ = plugin_command()
    kubeconfig = str(sb.admin_kubeconfig)
    check = ["--debug", "check", "-o", "json", "--kubeconfig", kubeconfig]
    with tempfile.TemporaryDirectory() as cache:
        plugin_cmd = plugin + check
        kubectl_cmd = [str(sb.kubectl), "--kubeconfig", kubeconfig, "--cache-dir", cache]
        kubectl_cmd += ["get", "nodes", "-o", "json", "-v=6"]
        measure(kubectl_cmd)  # fills kubectl's discovery cache, as on an admin's machine
        plugin_runs, kubectl_runs, baseline_runs = [], [], []
        for _ in range(runs):
            plugin_runs.append(_run(plugin_cmd, 1))
            kubectl_runs.append(_run(kubectl_cmd, 1))
            if baseline:
                baseline_runs.append(_run([sys.executable, baseline, *check], 1))
    errs = plugin_runs[0][2][0]
    extra = {}
    if baseline_runs:
        extra = {
            "b_wall": statistics.median(r[0] for r in baseline_runs),
            "b_rss": max(r[1] for r in baseline_runs),
            "b_requests": int(re.search(r"(\d+) API requests", baseline_runs[0][2][0]).group(1)),  # type: ignore[union-attr]
        }
    # kubectl -v=6 logs one line per response: `"Response" verb="GET" url=...` (older: `GET https://...`)
    k_requests = len(re.findall(r'verb="(?:GET|POST)"|\b(?:GET|POST) https://', kubectl_runs[-1][2][0]))
    return {
        "wall": statistics.median(r[0] for r in plugin_runs),
        "rss": max(r[1] for r in plugin_runs),
        "requests": int(re.search(r"(\d+) API requests", errs).group(1)),  # type: ignore[union-attr]
        "objects": int(re.search(r"(\d+) objects kept", errs).group(1)),  # type: ignore[union-attr]
        "k_wall": statistics.median(r[0] for r in kubectl_runs),
        "k_rss": max(r[1] for r in kubectl_runs),
        "k_requests": k_requests,
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="5000", help="node counts, comma-separated (a scaling curve)")
    parser.add_argument("--pods", type=int, default=0, help="pods (default: 4 per node)")
    parser.add_argument("--crds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="another build of the plugin (a zipapp) to measure beside this one")
    parser.add_argument(
        "--hold", action="store_true", help="populate, print the kubeconfig, keep the sandbox up until Ctrl-C"
    )
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.nodes.split(","))
    from tests.sandbox.sandbox import Sandbox

    _, label = plugin_command()
    rows = []
    with Sandbox(verbose=False) as sb:
        sb.apply_scenario("ai-platform")
        population = Population(sb)
        for nodes in sizes:
            population.grow(nodes, args.pods or 4 * nodes, args.crds)
            if args.hold:
                print(f"export KUBECONFIG={sb.admin_kubeconfig}", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(3600)
                return
            rows.append((nodes, population.pods, compare(sb, args.runs, args.baseline)))
    print(f"\nkubectl aiconf check ({label}) and kubectl get nodes -o json, median of {args.runs} alternating runs:")
    print(
        f"{'nodes':>6} {'pods':>6} | {'plugin s':>8} {'requests':>8} {'objects':>7} {'MB':>5} | "
        f"{'kubectl s':>9} {'requests':>8} {'MB':>5} | {'time':>5} {'memory':>6}"
    )
    for nodes, pods, r in rows:
        print(
            f"{nodes:>6} {pods:>6} | {r['wall']:>8.2f} {r['requests']:>8} {r['objects']:>7} {r['rss']:>5.0f} | "
            f"{r['k_wall']:>9.2f} {r['k_requests']:>8} {r['k_rss']:>5.0f} | "
            f"{r['wall'] / r['k_wall']:>4.2f}x {r['rss'] / r['k_rss']:>5.2f}x"
        )
    if args.baseline:
        print(f"\nbaseline {args.baseline}, same runs:")
        for nodes, pods, r in rows:
            print(
                f"{nodes:>6} nodes {pods:>6} pods | baseline {r['b_wall']:.2f}s, {r['b_requests']} requests, "
                f"{r['b_rss']:.0f} MB ({r['b_wall'] / r['k_wall']:.2f}x kubectl) | now {r['wall']:.2f}s, "
                f"{r['rss']:.0f} MB: {r['b_wall'] / r['wall']:.1f}x faster, {r['b_rss'] / r['rss']:.1f}x less memory"
            )
    if len(rows) > 1:
        (n0, _, first), (n1, _, last) = rows[0], rows[-1]
        growth = (last["wall"] / first["wall"]) / (n1 / n0)
        print(
            f"plugin time grew {last['wall'] / first['wall']:.1f}x for {n1 / n0:.0f}x the nodes "
            f"({growth:.2f} of linear)"
        )


if __name__ == "__main__":
    main()
