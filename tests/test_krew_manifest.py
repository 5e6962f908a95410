"""krew-manifest.yaml (the template) and the release made by `make release`.

Structure is checked for both manifests against krew's own rules; the release is checked against the
archive it describes. If krew can be built from the Go module proxy (.ci/build-krew.sh, cached under
~/.cache/kubectl-aiconf), the release is also installed with krew into a temporary KREW_ROOT for every
platform it declares, and run as `kubectl aiconf`. With CI=true a missing prerequisite is a failure.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.packaging  # builds the zipapp and the krew release

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "krew-manifest.yaml"
DIST = REPO / "dist"
ARCHIVE = DIST / "kubectl-aiconf.tar.gz"
RELEASE_MANIFEST = DIST / "krew-manifest.yaml"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")]
NOT_OFFERED = [("windows", "amd64"), ("windows", "arm64")]
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


def make(target: str) -> None:
    proc = subprocess.run(["make", "--no-print-directory", target], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"make {target} failed:\n{proc.stdout}\n{proc.stderr}"


def package_version() -> str:
    text = (REPO / "kubectl_aiconf" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


def load(path: Path) -> dict:
    with path.open() as f:
        return yaml.safe_load(f)


def selector_matches(selector: dict, labels: dict) -> bool:
    """Kubernetes label-selector semantics, as krew applies them to {os, arch}."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def structure_problems(doc: dict) -> list[str]:
    """krew's validation rules (internal/index/validation) plus krew-index review norms."""
    p = []
    if doc.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        p.append(f"apiVersion is {doc.get('apiVersion')!r}")
    if doc.get("kind") != "Plugin":
        p.append(f"kind is {doc.get('kind')!r}")
    name = (doc.get("metadata") or {}).get("name", "")
    if name != "aiconf" or not re.fullmatch(r"[\w-]+", name):
        p.append(f"metadata.name is {name!r}")
    spec = doc.get("spec") or {}
    version = str(spec.get("version", ""))
    if not SEMVER.match(version):
        p.append(f"version {version!r} is not semver with a leading v")
    if version != "v" + package_version():
        p.append(f"version {version!r} does not match kubectl_aiconf.__version__ {package_version()!r}")
    short = spec.get("shortDescription") or ""
    if not short or "\n" in short.strip() or len(short.strip()) > 50:
        p.append(f"shortDescription must be one line of 1-50 characters: {short!r} ({len(short.strip())})")
    description = spec.get("description") or ""
    if not description.strip():
        p.append("description is empty")
    p += [f"description line longer than 80 columns: {line!r}" for line in description.splitlines() if len(line) > 80]
    caveats = spec.get("caveats") or ""
    if not re.search(r"python3\s*>=\s*3\.10", caveats):
        p.append(f"caveats must say python3 >= 3.10 is needed: {caveats!r}")
    if not str(spec.get("homepage", "")).startswith("https://"):
        p.append(f"homepage {spec.get('homepage')!r}")
    platforms = spec.get("platforms") or []
    if not platforms:
        p.append("no platforms")
    for i, plat in enumerate(platforms):
        where = f"platforms[{i}]"
        uri = str(plat.get("uri", ""))
        if not re.match(r"^https://.+/kubectl-aiconf\.tar\.gz$", uri):
            p.append(f"{where}.uri {uri!r}")
        if not re.fullmatch(r"[a-f0-9]{64}", str(plat.get("sha256", ""))):
            p.append(f"{where}.sha256 is not 64 lowercase hex digits")
        if plat.get("bin") != "kubectl-aiconf":
            p.append(f"{where}.bin is {plat.get('bin')!r}")
        files = plat.get("files")
        if not files or any(not f.get("from") or not f.get("to") for f in files):
            p.append(f"{where}.files must be a non-empty list of from/to")
        elif {f["from"] for f in files} != {"kubectl-aiconf", "LICENSE"}:
            p.append(f"{where}.files must extract kubectl-aiconf and LICENSE: {files}")
        selector = plat.get("selector") or {}
        keys = {*(selector.get("matchLabels") or {})} | {e.get("key") for e in selector.get("matchExpressions") or []}
        if not keys or not keys <= {"os", "arch"}:
            p.append(f"{where}.selector must be non-empty and use only os/arch: {selector}")
    for os_, arch in PLATFORMS + NOT_OFFERED:
        matching = [
            i
            for i, plat in enumerate(platforms)
            if selector_matches(plat.get("selector") or {}, {"os": os_, "arch": arch})
        ]
        expected = 1 if (os_, arch) in PLATFORMS else 0
        if len(matching) != expected:
            p.append(f"{os_}/{arch} is matched by platforms {matching}, expected {expected} match(es)")
    return p


@pytest.fixture(scope="module")
def release() -> dict:
    make("release")
    return load(RELEASE_MANIFEST)


def load_release_script():
    spec = importlib.util.spec_from_file_location("aiconf_release", REPO / ".ci" / "release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- structure -----------------------------------------------------------------------------------------


def test_template_structure():
    assert structure_problems(load(TEMPLATE)) == []


def test_release_manifest_structure(release):
    assert structure_problems(release) == []


def test_structure_check_catches_mistakes():
    doc = load(TEMPLATE)
    doc["spec"]["shortDescription"] = "x" * 51
    doc["spec"]["version"] = "0.1.0"
    doc["spec"]["caveats"] = "needs python"
    doc["spec"]["platforms"][0]["selector"] = {"matchLabels": {"os": "linux"}}
    problems = "\n".join(structure_problems(doc))
    for expected in ("shortDescription", "leading v", "caveats", "darwin/amd64 is matched by platforms []"):
        assert expected in problems


def test_release_differs_from_the_template_only_in_release_fields(release):
    template, release = load(TEMPLATE), copy.deepcopy(release)
    for doc in (template, release):
        for plat in doc["spec"]["platforms"]:
            plat.pop("sha256")
            plat.pop("uri")
        doc["spec"].pop("homepage")
    assert release == template


# --- the archive ---------------------------------------------------------------------------------------


def test_release_sha256_matches_the_archive(release):
    digest = hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()
    assert {plat["sha256"] for plat in release["spec"]["platforms"]} == {digest}
    assert (DIST / "kubectl-aiconf.tar.gz.sha256").read_text().split()[0] == digest


def test_release_uri_names_the_version(release):
    version = release["spec"]["version"]
    for plat in release["spec"]["platforms"]:
        assert plat["uri"] == f"{release['spec']['homepage']}/releases/download/{version}/kubectl-aiconf.tar.gz"


def test_archive_holds_the_zipapp_and_license(release):
    with tarfile.open(ARCHIVE, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["LICENSE", "kubectl-aiconf"]
        assert all(m.isfile() for m in members.values())
        assert members["kubectl-aiconf"].mode == 0o755
        assert members["LICENSE"].mode == 0o644
        assert tar.extractfile("kubectl-aiconf").read() == (DIST / "kubectl-aiconf").read_bytes()
        assert tar.extractfile("LICENSE").read() == (REPO / "LICENSE").read_bytes()
    assert b"Apache License" in (REPO / "LICENSE").read_bytes()[:200]


def test_archive_is_reproducible(release, tmp_path):
    """Same inputs, different file times and owners: same bytes."""
    script = load_release_script()
    root = tmp_path / "root"
    (root / "dist").mkdir(parents=True)
    shutil.copyfile(DIST / "kubectl-aiconf", root / "dist" / "kubectl-aiconf")
    shutil.copyfile(REPO / "LICENSE", root / "LICENSE")
    os.utime(root / "LICENSE", (12345, 12345))
    (root / "dist" / "kubectl-aiconf").chmod(0o700)
    sha_a = script.write_archive(tmp_path / "a.tar.gz", root=root)
    sha_b = script.write_archive(tmp_path / "b.tar.gz", root=root)
    assert sha_a == sha_b == hashlib.sha256((tmp_path / "a.tar.gz").read_bytes()).hexdigest()
    if "SOURCE_DATE_EPOCH" not in os.environ:
        assert sha_a == hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()


def test_release_manifest_fills_in_fields():
    script = load_release_script()
    text = script.release_manifest(TEMPLATE.read_text(), "1.2.3", "ab" * 32, "https://github.com/acme/kubectl-aiconf/")
    doc = yaml.safe_load(text)
    assert doc["spec"]["version"] == "v1.2.3"
    assert doc["spec"]["homepage"] == "https://github.com/acme/kubectl-aiconf"
    plat = doc["spec"]["platforms"][0]
    assert plat["sha256"] == "ab" * 32
    assert plat["uri"] == "https://github.com/acme/kubectl-aiconf/releases/download/v1.2.3/kubectl-aiconf.tar.gz"
    assert "make release" in text.splitlines()[0]
    assert not [line for line in text.splitlines()[1:] if line.startswith("#")]


# --- krew itself ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def krew_bin() -> Path:
    need(shutil.which("go") is not None, "Go is missing, so krew cannot be built")
    proc = subprocess.run([str(REPO / ".ci" / "build-krew.sh")], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert (path / "kubectl-krew").is_file() and (path / "validate-krew-manifest").is_file()
    return path


def kubectl_path() -> Path:
    env = dict(
        line.split("=", 1)
        for line in (REPO / "tests" / "sandbox" / "versions.env").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    )
    cache = Path(os.environ.get("AICONF_CACHE", Path.home() / ".cache" / "kubectl-aiconf"))
    return cache / f"k8s-{env['KUBERNETES_VERSION'].strip()}" / "bin" / "kubectl"


@pytest.mark.parametrize("which", ["template", "release"])
def test_validate_krew_manifest(krew_bin, release, tmp_path, which):
    """krew's own validator (structure, selectors, overlaps); it needs the file named after the plugin."""
    manifest = tmp_path / "aiconf.yaml"
    shutil.copyfile(TEMPLATE if which == "template" else RELEASE_MANIFEST, manifest)
    proc = subprocess.run(
        [str(krew_bin / "validate-krew-manifest"), "-manifest", str(manifest), "-skip-install"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def krew_env(tmp_path: Path, krew_bin: Path, extra_path=()) -> dict:
    root = tmp_path / "krew"
    index = root / "index" / "default"
    if not index.exists():
        # An empty local index, so that `krew list`/`uninstall` work without cloning krew-index.
        index.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(index)], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(index),
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "empty index",
            ],
            check=True,
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KREW_", "SHIV_", "PYTHON"))}
    env.update(
        KREW_ROOT=str(root),
        KREW_NO_UPGRADE_CHECK="1",
        SHIV_ROOT=str(tmp_path / "shiv"),
        HOME=str(tmp_path),
        KUBECONFIG=str(tmp_path / "no-kubeconfig"),
    )
    env["PATH"] = os.pathsep.join([str(root / "bin"), *map(str, extra_path), str(krew_bin), "/usr/bin", "/bin"])
    return env


def krew(env: dict, *args: str, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl-krew", *args],
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.mark.parametrize("os_,arch", PLATFORMS)
def test_krew_installs_each_platform(krew_bin, release, tmp_path, os_, arch):
    env = krew_env(tmp_path, krew_bin)
    args = ["install", f"--manifest={RELEASE_MANIFEST}", f"--archive={ARCHIVE}"]
    proc = krew(env, *args, KREW_OS=os_, KREW_ARCH=arch)
    assert proc.returncode == 0, proc.stderr
    store = Path(env["KREW_ROOT"]) / "store" / "aiconf" / release["spec"]["version"]
    assert (store / "LICENSE").is_file(), "krew-index requires the license to be extracted"
    assert (store / "kubectl-aiconf").read_bytes() == (DIST / "kubectl-aiconf").read_bytes()
    assert os.access(store / "kubectl-aiconf", os.X_OK)
    link = Path(env["KREW_ROOT"]) / "bin" / "kubectl-aiconf"
    assert link.is_symlink() and link.resolve() == (store / "kubectl-aiconf").resolve()
    assert "python3 >= 3.10" in proc.stderr + proc.stdout  # caveats are shown after install


@pytest.mark.parametrize("os_,arch", NOT_OFFERED)
def test_krew_refuses_windows(krew_bin, release, tmp_path, os_, arch):
    env = krew_env(tmp_path, krew_bin)
    proc = krew(env, "install", f"--manifest={RELEASE_MANIFEST}", f"--archive={ARCHIVE}", KREW_OS=os_, KREW_ARCH=arch)
    assert proc.returncode != 0
    assert "does not offer installation for this platform" in proc.stderr, proc.stderr
    assert not (Path(env["KREW_ROOT"]) / "bin" / "kubectl-aiconf.exe").exists()


def test_krew_install_then_kubectl_aiconf_then_uninstall(krew_bin, release, tmp_path):
    kubectl = kubectl_path()
    need(kubectl.is_file(), f"the sandbox kubectl is missing at {kubectl} (run `make binaries`)")
    py310 = Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python3"
    shim = tmp_path / "python"
    shim.mkdir()
    (shim / "python3").symlink_to(py310 if py310.is_file() else Path(sys.executable))
    env = krew_env(tmp_path, krew_bin, extra_path=[shim, kubectl.parent])
    proc = krew(env, "install", f"--manifest={RELEASE_MANIFEST}", f"--archive={ARCHIVE}")
    assert proc.returncode == 0, proc.stderr
    listed = krew(env, "list")
    assert listed.returncode == 0 and "aiconf" in listed.stdout, listed.stderr
    run = subprocess.run(["kubectl", "aiconf", "version"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"kubectl-aiconf {package_version()}" in run.stdout
    gone = krew(env, "uninstall", "aiconf")
    assert gone.returncode == 0, gone.stderr
    assert not (Path(env["KREW_ROOT"]) / "bin" / "kubectl-aiconf").exists()
