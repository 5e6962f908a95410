"""Where the time of one `check` goes, stage by stage, live or on a snapshot (prints figures, asserts nothing).

    .venv/bin/python bench/profile_check.py [--kubeconfig FILE] [--context NAME]     # a live cluster
    .venv/bin/python bench/profile_check.py --snapshot DIR                           # a snapshot
    .venv/bin/python bench/profile_check.py --sandbox [--nodes 5000 --pods 20000]    # a fresh sandbox at that scale

Stages: imports, connecting (credentials, version, identity, discovery) or reading the snapshot files, the
listings (per listing: pages, bytes, time waiting for the server, decoding, trimming), the checks (the
slowest first) and rendering. `--cprofile N` adds the N functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def profile(args: argparse.Namespace) -> None:
    stages: list[tuple[str, float]] = []
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages.append((name, now - mark))
        mark = now

    from kubectl_aiconf import checks, runner
    from kubectl_aiconf.catalogue import checklist_for_server
    from kubectl_aiconf.output import RenderOptions, render
    from kubectl_aiconf.result import Report

    stage("imports")
    if args.snapshot:
        from kubectl_aiconf.view.snapshot import SnapshotView

        view = SnapshotView(args.snapshot)
        stage("reading the snapshot files")
    else:
        from kubectl_aiconf.view.live import LiveView

        view = LiveView.connect(args.kubeconfig, args.context, args.request_timeout)
        stage("connecting (credentials, /version, identity, discovery)")
    version = args.version or checklist_for_server(view.kubernetes_version or "")[0]
    view.load(runner.reads_for(version))
    stage(f"listing {len(view.listings())} resources")
    per_check: dict[str, float] = {}
    run = checks.Check.run

    def timed_run(check, v):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return run(check, v)
        finally:
            per_check[check.requirement_id] = time.perf_counter() - started

    checks.Check.run = timed_run  # type: ignore[method-assign]
    try:
        results = runner.run_checks(view, version)
    finally:
        checks.Check.run = run  # type: ignore[method-assign]
    stage(f"{len(results)} checks")
    report = Report(version, view.kubernetes_version, view.context, view.source, results)
    json.loads(render(report, RenderOptions("json")))
    stage("rendering (json)")

    total = sum(seconds for _, seconds in stages)
    print(f"{view.source} view of Kubernetes {view.kubernetes_version}, checklist {version}: {view.stats()}")
    print(f"total {total:.2f}s, peak RSS {_peak_mb():.0f} MB")
    for name, seconds in stages:
        print(f"  {seconds:6.2f}s  {100 * seconds / total:3.0f}%  {name}")
    timed = sorted((x.timing for x in view.listings() if x.timing), key=lambda t: -t.seconds)
    if timed:
        print("slowest listings (wire = waiting for the server and reading; slices of one listing add up):")
        for timing in timed[: args.top]:
            print(f"  {timing}")
    print("slowest checks:")
    for name, seconds in sorted(per_check.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds:6.3f}s  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", help="profile a check of this snapshot file or directory")
    parser.add_argument("--sandbox", action="store_true", help="start and populate a sandbox, profile it")
    parser.add_argument("--nodes", type=int, default=5000, help="with --sandbox")
    parser.add_argument("--pods", type=int, default=20000, help="with --sandbox")
    parser.add_argument("--crds", type=int, default=200, help="with --sandbox")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--version", help="checklist version (default: the cluster's)")
    parser.add_argument("--top", type=int, default=6, help="listings and checks to show")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="also print cProfile's top N")
    args = parser.parse_args()
    if args.sandbox:
        from sandbox_scale import populated_sandbox

        with populated_sandbox(args.nodes, args.pods, args.crds) as sb:
            args.kubeconfig = str(sb.admin_kubeconfig)
            _profile(args)
    else:
        _profile(args)


def _profile(args: argparse.Namespace) -> None:
    if not args.cprofile:
        profile(args)
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(profile, args)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
