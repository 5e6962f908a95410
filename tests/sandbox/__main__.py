"""Command line for the sandbox.

    python -m tests.sandbox run [--scenario NAME]... -- CMD ARGS...
        start, apply, run CMD, tear down; exit with CMD's code
    python -m tests.sandbox up  [--scenario NAME]...
        start, apply, print `export KUBECONFIG=...`, wait for Ctrl-C
    python -m tests.sandbox build                                      build/cache the binaries (tests/sandbox/build.sh)
    python -m tests.sandbox scenarios                                  list the scenarios

CMD runs with KUBECONFIG set to the sandbox's kubeconfig (contexts `admin`, current, and `limited`), with
AICONF_SANDBOX_ADMIN_KUBECONFIG / AICONF_SANDBOX_LIMITED_KUBECONFIG pointing at the single-user files, and with
the sandbox's kubectl first on PATH. Progress goes to stderr; CMD's own output is untouched.
Exit codes: CMD's exit code; 125 if the sandbox could not be started or the scenario not applied; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
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
    from .scenarios import scenario_dir

    for name in args.scenario:
        scenario_dir(name)  # unknown scenario: fail before starting anything
    sb = Sandbox(build=not args.no_build, timeout=args.timeout, keep_dir=args.keep)
    sb.start()
    try:
        for name in args.scenario:
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
        print(
            f"[sandbox] up: contexts admin (current) and limited; kubectl at {sb.kubectl}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while True:
            for proc in sb.procs.values():
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
        from .scenarios import scenario_names

        print("\n".join(scenario_names()))
        return 0
    return 2


if __name__ == "__main__":
    # the package is imported as tests.sandbox: run from the repository root
    sys.path.insert(0, os.getcwd())
    sys.exit(main())
