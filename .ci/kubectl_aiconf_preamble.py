"""shiv preamble shipped inside dist/kubectl-aiconf.

shiv runs this after it has extracted (or found) the bundled site-packages under
``$SHIV_ROOT/kubectl-aiconf_<build id>/`` and before it imports the CLI. shiv passes three globals:
``archive`` (path of the zipapp), ``env`` (shiv's environment) and ``site_packages`` (a Path).

It does two cheap things and must never stop the CLI from starting, so every error is swallowed:

1. Prune extractions of *other* kubectl-aiconf builds. Each one is tens of MB and shiv never deletes
   them. A build counts as in use while its directory was touched in the last hour (we touch ours on
   every start), so two installed versions used side by side do not keep deleting each other.
2. Keep the bytecode of the bundled packages when ``PYTHONDONTWRITEBYTECODE`` is set (common in
   container images). Without .pyc files every start recompiles the kubernetes client, which costs
   seconds. Only modules loaded from our own extraction directory are affected; the interpreter's
   setting is left alone for everything else.
"""

import os
import re
import shutil
import sys
import time

UNUSED_FOR = 3600  # seconds before another build's extraction may be deleted
_BUILD_DIR = re.compile(r"(?P<name>.+)_(?P<id>[0-9a-f]{64})(?P<tmp>\.tmp)?")
_LOCK_FILE = re.compile(r"\.(?P<name>.+)_(?P<id>[0-9a-f]{64})_lock")


def prune_other_builds(current_dir, now=None, unused_for=UNUSED_FOR):
    """Delete ``<name>_<id>`` directories (and their lock files) of other builds next to ``current_dir``."""
    now = time.time() if now is None else now
    match = _BUILD_DIR.fullmatch(current_dir.name)
    if not match:
        return []
    name, current_id = match["name"], match["id"]
    try:
        os.utime(current_dir)  # mark our own build as used
    except OSError:
        pass
    removed = []
    with os.scandir(current_dir.parent) as entries:
        for entry in entries:
            m = _BUILD_DIR.fullmatch(entry.name) or _LOCK_FILE.fullmatch(entry.name)
            if not m or m["name"] != name or m["id"] == current_id:
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < unused_for:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


def keep_bytecode_under(root):
    """Let modules found under ``root`` write their .pyc even though sys.dont_write_bytecode is set."""
    if not sys.dont_write_bytecode:
        return
    from importlib import machinery

    class _Loader(machinery.SourceFileLoader):
        def get_code(self, fullname):
            sys.dont_write_bytecode = False
            try:
                return super().get_code(fullname)
            finally:
                sys.dont_write_bytecode = True

    root = os.path.normcase(os.path.abspath(str(root)))
    ours = machinery.FileFinder.path_hook(
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (_Loader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def is_ours(path):
        path = os.path.normcase(os.path.abspath(path))
        return path == root or path.startswith(root + os.sep)

    def hook(path):
        if isinstance(path, str) and path and is_ours(path):
            return ours(path)
        raise ImportError("not in the kubectl-aiconf extraction")

    sys.path_hooks.insert(0, hook)
    for path in [p for p in sys.path_importer_cache if isinstance(p, str) and p and is_ours(p)]:
        del sys.path_importer_cache[path]


def _main():
    sp = globals().get("site_packages")
    if sp is None:
        return
    for step in (lambda: prune_other_builds(sp.parent), lambda: keep_bytecode_under(sp)):
        try:
            step()
        except Exception:  # noqa: BLE001 - housekeeping must never break the CLI
            pass


if __name__ == "__main__":
    _main()
