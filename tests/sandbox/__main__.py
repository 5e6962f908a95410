"""Command line for the sandbox.

    python -m tests.sandbox run [--scenario NAME]... [--real-node [--leaky-device-plugin]] -- CMD ARGS...
        start, apply, run CMD, tear down; exit with CMD's code
    python -m tests.sandbox up  [--scenario NAME]... [--real-node [--leaky-device-plugin]]
        start, apply, print `export KUBECONFIG=...`, wait for Ctrl-C
    (run and up: --kubernetes-version 1.37.2 or 1.37 starts another version of the matrix, KUBERNETES_VERSIONS)
    python -m tests.sandbox build                                      build/cache the binaries (tests/sandbox/build.sh)
    python -m tests.sandbox scenarios                                  list the scenarios

CMD runs with KUBECONFIG set to the sandbox's kubeconfig (contexts `admin`, current, and `limited`), with
AICONF_SANDBOX_ADMIN_KUBECONFIG / AICONF_SANDBOX_LIMITED_KUBECONFIG pointing at the single-user files, and with
the sandbox's kubectl first on PATH. Progress goes to stderr; CMD's own output is untouched.
With --real-node the sandbox also runs one real node (kubelet, containerd, runc; needs root and
`tests/sandbox/build.sh real-node`) with the test device plugin (4 simulated nvidia.com/gpu devices; with
--leaky-device-plugin every container that asks for one gets all 4), and CMD also gets AICONF_SANDBOX_REAL_NODE
(the node's name) and AICONF_SANDBOX_PROBE_IMAGE (the locally imported probe image, for --probe-image).
Exit codes: CMD's exit code; 125 if the sandbox could not be started or the scenario not applied; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.sandbox", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("run", "start a sandbox, run CMD against it, tear down"),
        ("up", "start a sandbox and keep it up until Ctrl-C"),
    ):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument(
            "--scenario",
            "-s",
            action="append",
            default=[],
            help="scenario under testdata/scenarios to apply (repeatable, applied in order)",
        )
        sp.add_argument("--nodes", type=int, default=0, help="also create N plain kwok nodes")
        sp.add_argument("--gpu-nodes", type=int, default=0, help="also create N kwok GPU nodes")
        sp.add_argument(
            "--real-node",
            action="store_true",
            help="also run a real node (kubelet, containerd, runc) with the test device plugin; needs root",
        )
        sp.add_argument(
            "--leaky-device-plugin",
            action="store_true",
            help="with --real-node: the device plugin gives every container every device (isolation broken)",
        )
        sp.add_argument(
            "--kubernetes-version",
            metavar="VERSION",
            help="the control plane's Kubernetes version, one of KUBERNETES_VERSIONS in versions.env "
            "(e.g. 1.37.2 or 1.37; default KUBERNETES_VERSION)",
        )
        sp.add_argument("--no-build", action="store_true", help="fail instead of building missing binaries")
        sp.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after teardown")
        sp.add_argument("--timeout", type=float, default=180, help="seconds for start-up and for each scenario")
        if name == "run":
            sp.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    sub.add_parser("build", help="build and cache the binaries")
    sub.add_parser("scenarios", help="list scenarios")
    return p


def _start(args):
    from .sandbox import Sandbox
    from .scenarios import PROGRAM_SCENARIOS, scenario_dir

    for name in args.scenario:
        if name not in PROGRAM_SCENARIOS:
            scenario_dir(name)  # unknown scenario: fail before starting anything
    if args.leaky_device_plugin and not args.real_node:
        raise ValueError("--leaky-device-plugin needs --real-node")
    sb = Sandbox(
        build=not args.no_build,
        timeout=args.timeout,
        keep_dir=args.keep,
        real_node=args.real_node,
        kubernetes_version=args.kubernetes_version,
    )
    sb.start()
    try:
        if sb.real_node is not None:
            sb.real_node.start_device_plugin(leaky=args.leaky_device_plugin)
        for name in args.scenario:
            if name in PROGRAM_SCENARIOS:
                importlib.import_module(f".{PROGRAM_SCENARIOS[name]}", __package__).apply(sb, timeout=args.timeout)
            else:
                sb.apply_scenario(name, timeout=args.timeout)
        if args.nodes:
            t0 = time.monotonic()
            sb.create_nodes(args.nodes)
            print(f"[sandbox] {args.nodes} nodes created in {time.monotonic() - t0:.1f}s", file=sys.stderr)
        if args.gpu_nodes:
            sb.create_nodes(args.gpu_nodes, gpu=True, prefix="extra-gpu-node")
    except BaseException:
        sb.stop()
        raise
    return sb


def _env(sb) -> dict[str, str]:
    env = sb.env()
    env["AICONF_SANDBOX_ADMIN_KUBECONFIG"] = str(sb.admin_kubeconfig)
    env["AICONF_SANDBOX_LIMITED_KUBECONFIG"] = str(sb.limited_kubeconfig)
    env["AICONF_SANDBOX_SERVER"] = sb.server
    if sb.real_node is not None:
        env["AICONF_SANDBOX_REAL_NODE"] = sb.real_node.name
        env["AICONF_SANDBOX_PROBE_IMAGE"] = sb.real_node.probe_image
    return env


def cmd_run(args) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("run: no command given (python -m tests.sandbox run [--scenario NAME] -- CMD ARGS...)", file=sys.stderr)
        return 2
    try:
        sb = _start(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report and exit 125 like `env`/`docker run`
        print(f"[sandbox] could not start: {exc}", file=sys.stderr)
        return 125
    child = None
    try:
        print(f"[sandbox] running: {' '.join(cmd)}", file=sys.stderr, flush=True)
        try:
            child = subprocess.Popen(cmd, env=_env(sb))
        except OSError as exc:
            print(f"[sandbox] cannot run {cmd[0]}: {exc}", file=sys.stderr)
            return 127
        return child.wait()
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # SIGTERM/SIGHUP (the sandbox turns them into SystemExit)
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sb.stop()


def cmd_up(args) -> int:
    try:
        sb = _start(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001
        print(f"[sandbox] could not start: {exc}", file=sys.stderr)
        return 125
    try:
        print(f"export KUBECONFIG={sb.kubeconfig}", flush=True)
        if sb.real_node is not None:
            print(
                f"[sandbox] real node {sb.real_node.name}: kubectl aiconf check --probe --probe-node "
                f"{sb.real_node.name} --probe-image {sb.real_node.probe_image}",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"[sandbox] up: contexts admin (current) and limited; kubectl at {sb.kubectl}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while True:
            for proc in list(sb.procs.values()) + (list(sb.real_node.procs.values()) if sb.real_node else []):
                if not proc.alive():
                    print(f"[sandbox] {proc.name} exited with {proc.returncode()}:\n{proc.log_tail()}", file=sys.stderr)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        sb.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "up":
        return cmd_up(args)
    if args.command == "build":
        from . import binaries

        binaries.ensure(build=True)
        for component in binaries.COMPONENTS:
            print(binaries.bin_dir(component))
        return 0
    if args.command == "scenarios":
        from .scenarios import PROGRAM_SCENARIOS, scenario_names

        print("\n".join(scenario_names() + sorted(PROGRAM_SCENARIOS)))
        return 0
    return 2


if __name__ == "__main__":
    # the package is imported as tests.sandbox: run from the repository root
    sys.path.insert(0, os.getcwd())
    sys.exit(main())
