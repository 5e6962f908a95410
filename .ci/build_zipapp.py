#!/usr/bin/env python3
"""Build dist/kubectl-aiconf: a shiv zipapp that holds pure Python only.

Run with the project's virtualenv interpreter (it needs pip and shiv), normally through `make zipapp`.

1. `pip install --target <staging> --no-deps` the pinned closure in .ci/zipapp-requirements.txt plus this
   project. PyYAML and charset-normalizer are built from source without their C extensions.
2. Tidy the staging tree so the archive only depends on the sources (no console scripts, no caches, no
   paths of this checkout, normalised permissions).
3. Refuse to continue if anything compiled or any excluded package got in.
4. `shiv --site-packages <staging> --reproducible` with the preamble in .ci/, then move into place.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / ".ci"
REQUIREMENTS = CI / "zipapp-requirements.txt"
BUILD_CONSTRAINTS = CI / "zipapp-build-constraints.txt"
PREAMBLE = CI / "kubectl_aiconf_preamble.py"
SHEBANG = "/usr/bin/env python3"
FROM_SOURCE = ("PyYAML", "charset-normalizer")

COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# Top-level import names that must never be bundled: the asyncio stack of kubernetes.aio and pydantic.
EXCLUDED = (
    "aiohttp",
    "aiohappyeyeballs",
    "aiosignal",
    "async_timeout",
    "attr",
    "attrs",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
    "pydantic",
    "pydantic_core",
)


# Parts of bundled packages that can never run without what we leave out, removed to halve the size and the
# first-run extraction time. The build checks that nothing else refers to them.
PRUNE = {
    "kubernetes/aio": ("kubernetes.aio", "the asyncio client needs aiohttp, which is not bundled"),
}


def log(msg: str) -> None:
    print(f"[build-zipapp] {msg}", file=sys.stderr, flush=True)


def problems(site_packages: Path) -> list[str]:
    """Everything in the tree that would tie the zipapp to one interpreter or platform."""
    found = []
    for path in sorted(site_packages.rglob("*")):
        rel = path.relative_to(site_packages)
        if path.is_file() and (path.suffix in COMPILED_SUFFIXES or ".so." in path.name):
            found.append(f"compiled file: {rel}")
        top = rel.parts[0].split("-")[0].lower()
        if len(rel.parts) == 1 and (top in EXCLUDED or top.removesuffix(".py") in EXCLUDED):
            found.append(f"excluded package: {rel}")
    return found


def project_copy(dest: Path) -> Path:
    """Copy the project's sources to ``dest`` so that pip builds it from a clean tree.

    Building in place would reuse ./build/lib, where files deleted from the package can linger and end
    up in the wheel; it would also write into a checkout other people are working in.
    """
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "kubectl_aiconf",
        dest / "kubectl_aiconf",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    return dest


def install(staging: Path, project: Path) -> None:
    env = dict(os.environ)
    env.update(
        PIP_CONSTRAINT=str(BUILD_CONSTRAINTS),
        PYYAML_FORCE_LIBYAML="0",  # PyYAML: no libyaml binding, pure-Python yaml only
        PYYAML_FORCE_CYTHON="0",
        CHARSET_NORMALIZER_USE_MYPYC="0",
        CHARSET_NORMALIZER_USE_CYTHON="0",
        SOURCE_DATE_EPOCH=env.get("SOURCE_DATE_EPOCH", "315532800"),
    )
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(staging),
        "--no-deps",
        "--no-compile",
        "--no-warn-script-location",
        "--no-cache-dir",
        "--no-binary",
        ",".join(FROM_SOURCE),
        "-r",
        str(REQUIREMENTS),
        str(project),
    ]
    log("pip install --target (pinned pure closure, --no-deps)")
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def prune(staging: Path) -> None:
    for rel, (module, why) in PRUNE.items():
        target = staging / rel
        if not target.is_dir():
            sys.exit(f"build-zipapp: {rel} to prune is missing; update PRUNE in {Path(__file__).name}")
        pattern = re.compile(
            rf"\b{re.escape(module)}\b|from\s+{re.escape(module.rpartition('.')[0])}\s+import\s+"
            rf"[^\n]*\b{re.escape(module.rpartition('.')[2])}\b"
        )
        users = [
            str(p.relative_to(staging))
            for p in staging.rglob("*.py")
            if target not in p.parents and pattern.search(p.read_text(encoding="utf-8", errors="replace"))
        ]
        if users:
            sys.exit(f"build-zipapp: cannot prune {rel}, it is used by {users}")
        shutil.rmtree(target)
        log(f"pruned {rel}: {why}")


def tidy(staging: Path) -> None:
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts with this venv's shebang
    for path in sorted(staging.rglob("*"), reverse=True):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.name == "direct_url.json" and path.parent.name.endswith(".dist-info"):
            # It records the (temporary) path the project was installed from; drop it and its RECORD line.
            path.unlink()
            record = path.parent / "RECORD"
            if record.is_file():
                lines = record.read_text().splitlines(keepends=True)
                record.write_text("".join(line for line in lines if "/direct_url.json," not in line))
    for path in staging.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def build(output: Path, compile_pyc: bool, keep: Path | None) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aiconf-zipapp-") as tmp:
        staging = keep or Path(tmp) / "site-packages"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        install(staging, project_copy(Path(tmp) / "project"))
        prune(staging)
        tidy(staging)
        bad = problems(staging)
        if bad:
            for line in bad:
                log(f"NOT PURE: {line}")
            sys.exit("build-zipapp: refusing to build an interpreter-specific zipapp")
        tmp_out = output.with_name(output.name + ".tmp")
        cmd = [
            sys.executable,
            "-m",
            "shiv",
            "--site-packages",
            str(staging),
            "--console-script",
            "kubectl-aiconf",
            "--python",
            SHEBANG,
            "--output-file",
            str(tmp_out),
            "--reproducible",
            "--compressed",
            "--preamble",
            str(PREAMBLE),
        ]
        if compile_pyc:
            cmd.append("--compile-pyc")
        log("shiv --site-packages ... --reproducible")
        subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"})
        tmp_out.replace(output)
    log(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / "kubectl-aiconf")
    parser.add_argument("--compile-pyc", action="store_true", help="compile the whole tree at first extraction")
    parser.add_argument("--keep-staging", type=Path, help="build the site-packages tree here and keep it")
    args = parser.parse_args()
    os.umask(0o022)
    build(args.output.resolve(), args.compile_pyc, args.keep_staging)


if __name__ == "__main__":
    main()
