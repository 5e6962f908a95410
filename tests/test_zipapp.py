"""The single-file artifact dist/kubectl-aiconf (shiv zipapp).

Builds it through `make zipapp` (a no-op when it is up to date), then checks that it holds pure Python
only, that its bundled closure is complete for every supported interpreter, and that it starts under
the oldest and newest supported CPython, both directly and as `kubectl aiconf` through kubectl's
plugin mechanism. With CI=true a missing interpreter or kubectl fails the test instead of skipping it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging  # builds the zipapp and the krew release

REPO = Path(__file__).resolve().parent.parent
ZIPAPP = REPO / "dist" / "kubectl-aiconf"
REQUIREMENTS = REPO / ".ci" / "zipapp-requirements.txt"
PREAMBLE = REPO / ".ci" / "kubectl_aiconf_preamble.py"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PYENV = Path.home() / ".pyenv" / "versions"
INTERPRETERS = {"3.10": PYENV / "3.10.13" / "bin" / "python3", "3.13": PYENV / "3.13.0" / "bin" / "python3"}
COMPILED = (".so", ".pyd", ".dylib", ".dll")
FORBIDDEN = (
    "aiohttp",
    "aiohappyeyeballs",
    "aiosignal",
    "async_timeout",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
    "pydantic",
    "pydantic_core",
)
# Markers are evaluated for every interpreter and OS the zipapp promises to run on.
ENVIRONMENTS = [
    {
        "python_version": v,
        "python_full_version": v + ".0",
        "sys_platform": plat,
        "platform_system": system,
        "os_name": "nt" if system == "Windows" else "posix",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    for v in ("3.10", "3.11", "3.12", "3.13")
    for plat, system in (("linux", "Linux"), ("darwin", "Darwin"), ("win32", "Windows"))
]


def need(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing; in CI a missing prerequisite is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


def make(target: str) -> None:
    proc = subprocess.run(["make", "--no-print-directory", target], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"make {target} failed:\n{proc.stdout}\n{proc.stderr}"


def interpreter(version: str) -> Path:
    path = INTERPRETERS[version]
    need(path.is_file() and os.access(path, os.X_OK), f"CPython {version} is missing at {path}")
    return path


def python_shim(tmp: Path, python: Path) -> Path:
    """A directory whose `python3` is `python`, to put first on PATH for the zipapp's shebang."""
    shim = tmp / f"shim-{python.parent.parent.name}"
    shim.mkdir(exist_ok=True)
    if not (shim / "python3").exists():
        (shim / "python3").symlink_to(python)
    return shim


def version() -> str:
    text = (REPO / "kubectl_aiconf" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


def kubectl_path() -> Path:
    env = dict(
        line.split("=", 1)
        for line in (REPO / "tests" / "sandbox" / "versions.env").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    )
    cache = Path(os.environ.get("AICONF_CACHE", Path.home() / ".cache" / "kubectl-aiconf"))
    return cache / f"k8s-{env['KUBERNETES_VERSION'].strip()}" / "bin" / "kubectl"


def run(cmd, tmp: Path, *, path_dirs=(), shiv_root: Path | None = None, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIV_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"])
    env["SHIV_ROOT"] = str(shiv_root or tmp / "shiv")
    env["HOME"] = str(tmp)
    env["KUBECONFIG"] = str(tmp / "no-kubeconfig")
    env.update(env_extra or {})
    return subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


@pytest.fixture(scope="module")
def zipapp() -> Path:
    make("zipapp")
    assert ZIPAPP.is_file() and os.access(ZIPAPP, os.X_OK)
    return ZIPAPP


@pytest.fixture(scope="module")
def members(zipapp) -> list[str]:
    with zipfile.ZipFile(zipapp) as zf:
        return zf.namelist()


def bundled_metadata(zipapp: Path) -> dict[str, email.message.Message]:  # noqa: F821
    with zipfile.ZipFile(zipapp) as zf:
        return {
            name.split("/")[1]: Parser().parsestr(zf.read(name).decode())
            for name in zf.namelist()
            if re.fullmatch(r"site-packages/[^/]+\.dist-info/METADATA", name)
        }


# --- contents ------------------------------------------------------------------------------------------


def test_shebang_is_env_python3(zipapp):
    with zipapp.open("rb") as f:
        assert f.readline() == b"#!/usr/bin/env python3\n"


def test_no_compiled_files(members):
    compiled = [m for m in members if m.lower().endswith(COMPILED) or ".so." in m.rsplit("/", 1)[-1]]
    assert not compiled, f"compiled files in the zipapp: {compiled}"


def test_no_asyncio_stack_or_pydantic(members):
    tops = {m.split("/")[1] for m in members if m.startswith("site-packages/") and m.count("/") >= 1}
    names = {re.split(r"[-.]", t, maxsplit=1)[0].lower() for t in tops}
    bad = sorted(n for n in names if n in FORBIDDEN)
    assert not bad, f"packages that must not be bundled: {bad}"
    assert not [m for m in members if "aiohttp" in m.lower() or "pydantic" in m.lower()]
    # kubernetes.aio cannot work without aiohttp; the build prunes it (half of the kubernetes package)
    assert "site-packages/kubernetes/client/__init__.py" in members
    assert not [m for m in members if m.startswith("site-packages/kubernetes/aio/")]


def test_bundles_exactly_the_pinned_list(zipapp):
    from packaging.utils import canonicalize_name

    pinned = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, ver = line.partition("==")
            pinned[canonicalize_name(name)] = ver
    pinned["kubectl-aiconf"] = version()
    bundled = {canonicalize_name(m["Name"]): m["Version"] for m in bundled_metadata(zipapp).values()}
    assert bundled == pinned


def test_closure_is_complete_and_supports_3_10_to_3_13(zipapp):
    """Every Requires-Dist of every bundled package, on every interpreter/OS, is satisfied inside the zip.

    Only kubernetes' asyncio client dependency (aiohttp) is left out on purpose."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    metas = bundled_metadata(zipapp)
    bundled = {canonicalize_name(m["Name"]): m["Version"] for m in metas.values()}
    problems = []
    for meta in metas.values():
        who = f"{meta['Name']} {meta['Version']}"
        requires_python = SpecifierSet(meta.get("Requires-Python") or "")
        for v in ("3.10.0", "3.13.0"):
            if v not in requires_python:
                problems.append(f"{who}: Requires-Python {requires_python} excludes {v}")
        for raw in meta.get_all("Requires-Dist") or []:
            req = Requirement(raw)
            name = canonicalize_name(req.name)
            if name == "aiohttp" and canonicalize_name(meta["Name"]) == "kubernetes":
                continue
            if req.marker and not any(req.marker.evaluate(env) for env in ENVIRONMENTS):
                continue
            if name not in bundled:
                problems.append(f"{who}: needs {req} which is not bundled")
            elif not req.specifier.contains(bundled[name], prereleases=True):
                problems.append(f"{who}: needs {req}, bundled {bundled[name]}")
    assert not problems, "\n".join(problems)


def test_bundled_project_matches_the_checkout(zipapp):
    with zipfile.ZipFile(zipapp) as zf:
        bundled = zf.read("site-packages/kubectl_aiconf/__init__.py")
        env = json.loads(zf.read("environment.json"))
    assert bundled == (REPO / "kubectl_aiconf" / "__init__.py").read_bytes()
    assert env["entry_point"] == "kubectl_aiconf.cli:main"
    assert env["preamble"] == PREAMBLE.name
    assert env["reproducible"] is True


def test_rebuild_is_byte_identical(zipapp, tmp_path):
    """Two builds of the same tree give the same bytes (the release sha256 depends on it)."""
    out = tmp_path / "kubectl-aiconf"
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, str(REPO / ".ci" / "build_zipapp.py"), "--output", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        # In a shared checkout the sources may change under us; then refresh dist and try once more.
        if subprocess.run(["make", "-q", "zipapp"], cwd=REPO).returncode == 0:
            break
        make("zipapp")
    assert out.read_bytes() == zipapp.read_bytes()


# --- running it ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pyver", sorted(INTERPRETERS))
def test_runs_as_an_executable(zipapp, tmp_path, pyver):
    """`./dist/kubectl-aiconf version|--help` with only that CPython on PATH (shebang /usr/bin/env python3)."""
    shim = python_shim(tmp_path, interpreter(pyver))
    out = run([zipapp, "version"], tmp_path, path_dirs=[shim])
    assert out.returncode == 0, out.stderr
    assert f"kubectl-aiconf {version()}" in out.stdout
    helped = run([zipapp, "--help"], tmp_path, path_dirs=[shim])
    assert helped.returncode == 0, helped.stderr
    assert "Usage: kubectl aiconf" in helped.stdout and "check" in helped.stdout
    extracted = list((tmp_path / "shiv").glob("kubectl-aiconf_*/site-packages"))
    assert len(extracted) == 1


@pytest.mark.parametrize("pyver", sorted(INTERPRETERS))
def test_imports_everything_in_isolation(zipapp, tmp_path, pyver):
    """With -I -S nothing outside the zip is importable: every module of the plugin and of the client loads."""
    python = interpreter(pyver)
    script = r"""
import importlib, pkgutil, sys, sysconfig, os
import kubectl_aiconf
names = ["kubectl_aiconf"] + [m.name for m in pkgutil.walk_packages(kubectl_aiconf.__path__, "kubectl_aiconf.")
                              if not m.name.endswith(".__main__")]
names += ["kubernetes.client", "kubernetes.config", "kubernetes.watch", "kubernetes.stream", "kubernetes.dynamic",
          "kubernetes.utils", "yaml", "tabulate", "typer", "rich.console", "requests", "dateutil.parser",
          "dateutil.tz", "websocket", "requests_oauthlib", "charset_normalizer", "certifi", "durationpy"]
for n in names:
    importlib.import_module(n)
import yaml
assert not yaml.__with_libyaml__, "libyaml binding loaded"
assert "aiohttp" not in sys.modules
allowed = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
allowed.add(os.path.realpath(os.environ["SHIV_ROOT"]))
outside = sorted(
    n for n, m in list(sys.modules.items())
    if getattr(m, "__file__", None) and not n.startswith(("_bootstrap", "__main__", "__mp_main__"))
    and not any(os.path.realpath(m.__file__).startswith(p + os.sep) for p in allowed)
)
print(len(names), "modules imported")
print("outside:", outside)
"""
    out = run([python, "-I", "-S", zipapp, "-c", script], tmp_path, env_extra={"SHIV_INTERPRETER": "1"})
    assert out.returncode == 0, out.stderr
    assert "outside: []" in out.stdout, out.stdout


@pytest.mark.parametrize("pyver", sorted(INTERPRETERS))
def test_check_reaches_the_api_client(zipapp, tmp_path, pyver):
    """`check` against an API server that refuses connections: the client loads and reports an error."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    shim = python_shim(tmp_path, interpreter(pyver))
    out = run([zipapp, "check"], tmp_path, path_dirs=[shim], env_extra={"KUBECONFIG": str(kubeconfig)})
    assert out.returncode not in (0, 1), (out.returncode, out.stderr)
    for sign in ("Traceback", "No module named", "cannot import name", "ImportError"):
        assert sign not in out.stderr, out.stderr
    assert "127.0.0.1:1" in out.stderr


def test_kubectl_plugin(zipapp, tmp_path):
    """`kubectl plugin list` finds it and `kubectl aiconf version` runs it (no cluster needed)."""
    kubectl = kubectl_path()
    need(kubectl.is_file(), f"the sandbox kubectl is missing at {kubectl} (run `make binaries`)")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "kubectl-aiconf").symlink_to(zipapp)  # as krew installs it
    shim = python_shim(tmp_path, interpreter("3.10") if INTERPRETERS["3.10"].is_file() else Path(sys.executable))
    path = [plugins, shim, kubectl.parent]
    listed = run(["kubectl", "plugin", "list"], tmp_path, path_dirs=path)
    assert str(plugins / "kubectl-aiconf") in listed.stdout, listed.stdout + listed.stderr
    out = run(["kubectl", "aiconf", "version"], tmp_path, path_dirs=path)
    assert out.returncode == 0, out.stderr
    assert f"kubectl-aiconf {version()}" in out.stdout
    helped = run(["kubectl", "aiconf", "--help"], tmp_path, path_dirs=path)
    assert helped.returncode == 0 and "Usage: kubectl aiconf" in helped.stdout, helped.stderr


# --- the preamble --------------------------------------------------------------------------------------


def load_preamble():
    spec = importlib.util.spec_from_file_location("aiconf_preamble", PREAMBLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_preamble_prunes_only_old_builds_of_the_same_name(tmp_path):
    pre = load_preamble()
    now = time.time()
    current = tmp_path / f"kubectl-aiconf_{'a' * 64}"
    keep = {
        current.name,
        f"kubectl-aiconf_{'b' * 64}",  # another build, used recently
        f"other-tool_{'c' * 64}",  # another shiv app
        f"kubectl-aiconf-dev_{'d' * 64}",  # a renamed copy has its own name
        "kubectl-aiconf_notahash",
    }
    old = {f"kubectl-aiconf_{'e' * 64}", f"kubectl-aiconf_{'f' * 64}.tmp", f".kubectl-aiconf_{'e' * 64}_lock"}
    for name in keep | old:
        p = tmp_path / name
        if name.endswith("_lock"):
            p.touch()
        else:
            (p / "site-packages").mkdir(parents=True)
    for name in old | {f"other-tool_{'c' * 64}", f"kubectl-aiconf-dev_{'d' * 64}", "kubectl-aiconf_notahash"}:
        os.utime(tmp_path / name, (now - 7200, now - 7200))
    os.utime(current, (now - 7200, now - 7200))
    removed = pre.prune_other_builds(current, now=now)
    assert sorted(removed) == sorted(old)
    assert {p.name for p in tmp_path.iterdir()} == keep
    assert current.stat().st_mtime > now - 60  # touched: marks the running build as in use


def test_zipapp_prunes_stale_extraction_and_keeps_bytecode(zipapp, tmp_path):
    python = interpreter("3.10") if INTERPRETERS["3.10"].is_file() else Path(sys.executable)
    root = tmp_path / "shiv"
    stale = root / f"kubectl-aiconf_{'0' * 64}"
    (stale / "site-packages").mkdir(parents=True)
    os.utime(stale, (1, 1))
    # -B (= PYTHONDONTWRITEBYTECODE): the preamble still caches bytecode for the bundled packages
    out = run([python, "-s", "-B", zipapp, "version"], tmp_path, shiv_root=root)
    assert out.returncode == 0, out.stderr
    assert not stale.exists()
    (extracted,) = root.glob("kubectl-aiconf_*/site-packages")
    assert list((extracted / "typer").glob("__pycache__/*.pyc")), "no bytecode cached for typer"
    assert list((extracted / "kubectl_aiconf").glob("__pycache__/*.pyc"))
