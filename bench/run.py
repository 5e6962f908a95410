"""Benchmarks that print figures (no assertions): `make bench` or `.venv/bin/python bench/run.py`.

1. `check --snapshot` of a large synthetic cluster (5,000 nodes, 200 CRDs, 20,000 pods): wall time, objects
   read, peak memory.
2. Start-up time of `--help` and `version` (the Kubernetes client must not be imported there).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Runs one command as the only child of a fresh interpreter, so that RUSAGE_CHILDREN is that command's peak.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
stderr = proc.stderr.decode(errors="replace")
print(json.dumps({"rc": proc.returncode, "wall": wall, "rss_mb": rss_kb / 1024, "stderr": stderr}))
"""


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def plugin_command() -> tuple[list[str], str]:
    zipapp = REPO / "dist" / "kubectl-aiconf"
    if zipapp.exists():
        return [sys.executable, str(zipapp)], "zipapp dist/kubectl-aiconf"
    return [sys.executable, "-m", "kubectl_aiconf"], "python -m kubectl_aiconf (no zipapp built)"


def objects_read(snapshot: Path) -> tuple[int, int]:
    """(objects kept after trimming, resources listed) for a 1.35 check of the snapshot, in-process."""
    from kubectl_aiconf.runner import run_checks
    from kubectl_aiconf.view.snapshot import SnapshotView

    view = SnapshotView(snapshot)
    run_checks(view, "1.35")
    return sum(len(listing.items) for listing in view.listings() if listing.visible), len(view.listings())


def bench_snapshot(nodes: int, pods: int, crds: int, runs: int) -> None:
    import synthetic

    cmd, label = plugin_command()
    with tempfile.TemporaryDirectory(prefix="aiconf-bench-") as tmp:
        snap = Path(tmp)
        start = time.perf_counter()
        counts = synthetic.write(snap, nodes, pods, crds)
        size_mb = sum(f.stat().st_size for f in snap.iterdir()) / 2**20
        print(f"synthetic snapshot: {counts} ({size_mb:.0f} MB of JSON, written in {time.perf_counter() - start:.1f}s)")
        kept, listed = objects_read(snap)
        files = sorted(str(f) for f in snap.iterdir())
        # The floor: parsing the same files with the standard library, each object kept, in a fresh interpreter.
        parse = [sys.executable, "-c", "import json, sys; kept = [json.load(open(f, 'rb')) for f in sys.argv[1:]]"]
        results, parsed = [], []
        for _ in range(runs):  # alternating, so that both see the same machine
            results.append(measure(cmd + ["check", "--snapshot", str(snap), "-o", "json"]))
            parsed.append(measure(parse + files))
    bad = [r for r in results if r["rc"] not in (0, 1, 3)]
    if bad:
        sys.exit(f"check failed: {bad[0]['stderr']}")
    walls = [r["wall"] for r in results]
    json_wall = statistics.median(r["wall"] for r in parsed)
    rss, json_rss = max(r["rss_mb"] for r in results), max(r["rss_mb"] for r in parsed)
    print(f"check --snapshot ({label}), {runs} runs:")
    print(f"  wall time      median {statistics.median(walls):.2f}s  (min {min(walls):.2f}s, max {max(walls):.2f}s)")
    print(f"  objects read   {sum(counts.values())} in the files; {kept} kept by the checks across {listed} listings")
    print(f"  peak memory    {rss:.0f} MB RSS")
    print(f"json.load of the same files (python -c), median: {json_wall:.2f}s, peak {json_rss:.0f} MB RSS")
    print(f"ratios check/json.load: time {statistics.median(walls) / json_wall:.2f}x, memory {rss / json_rss:.2f}x")


def bench_startup(runs: int) -> None:
    cmd, label = plugin_command()
    print(f"start-up ({label}), {runs} runs each:")
    for args in (["--help"], ["version"]):
        measure(cmd + args)  # warm the shiv extraction cache and .pyc files
        walls = [measure(cmd + args)["wall"] for _ in range(runs)]
        print(
            f"  {' '.join(args):10s} median {statistics.median(walls) * 1000:.0f} ms  (min {min(walls) * 1000:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--crds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    bench_snapshot(args.nodes, args.pods, args.crds, args.runs)
    bench_startup(max(args.runs, 5))


if __name__ == "__main__":
    main()
