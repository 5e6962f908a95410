"""Several clusters in one run: `check --context a,b,c` and `check --all-contexts`.

Each cluster is checked as a single run would check it (its own connection, its own Kubernetes version and so
its own checklist), a few at a time. A cluster that cannot be checked becomes a `ClusterError` in its place in
the list and the others go on.

The exit code of a run is the worst of its clusters', in this order (best to worst):
0 (every MUST met) < 3 (a MUST not confirmed) < 2 (a cluster could not be checked) < 1 (a MUST failed).
A failed MUST is the one definite verdict against a cluster, so it outranks a cluster nobody could see into.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from kubectl_aiconf.result import ClusterError, Report

MAX_PARALLEL_CLUSTERS = 4  # each cluster's view runs up to 16 requests of its own
WORST_LAST = (0, 3, 2, 1)

ClusterReport = Report | ClusterError


def is_fleet(context: str | None, all_contexts: bool) -> bool:
    return all_contexts or (context is not None and "," in context)


def context_names(kubeconfig: str | None) -> list[str]:
    """Every context of the kubeconfig (merged the way kubectl merges KUBECONFIG), in file order."""
    from kubectl_aiconf.view.kubeconfig import KubeconfigError, _read, kubeconfig_files

    names: list[str] = []
    for path in kubeconfig_files(kubeconfig):
        entries = _read(path).get("contexts") or []
        if not isinstance(entries, list):
            raise KubeconfigError(f"kubeconfig {path}: 'contexts' is not a list")
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name and name not in names:
                names.append(name)
    return names


def contexts_for(kubeconfig: str | None, context: str | None, all_contexts: bool) -> list[str]:
    """The contexts to check, each once, in the order given; a name the kubeconfig lacks is an error up front."""
    from kubectl_aiconf.view.kubeconfig import KubeconfigError

    known = context_names(kubeconfig)
    if all_contexts:
        if context:
            raise ValueError("--all-contexts and --context exclude each other")
        if not known:
            raise KubeconfigError("the kubeconfig defines no contexts")
        return known
    wanted = [c.strip() for c in (context or "").split(",")]
    if not all(wanted):
        raise ValueError(f"--context {context!r}: an empty context name in the list")
    missing = [c for c in wanted if c not in known]
    if missing:
        raise KubeconfigError(f"context {missing[0]!r} not found in the kubeconfig")
    return list(dict.fromkeys(wanted))


def check_all(
    contexts: Sequence[str],
    check_one: Callable[[str], Report],
    expected: tuple[type[BaseException], ...],
    parallel: int = MAX_PARALLEL_CLUSTERS,
) -> list[ClusterReport]:
    """`check_one(context)` for every context, `parallel` at a time, in the order of `contexts`.

    An exception of the `expected` kinds (unreachable, credentials, version) becomes that cluster's ClusterError;
    anything else is a bug and propagates."""
    from kubectl_aiconf.text import one_line

    def guarded(context: str) -> ClusterReport:
        try:
            return check_one(context)
        except expected as exc:
            return ClusterError(context, one_line(str(exc)) or type(exc).__name__)

    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(contexts))), thread_name_prefix="cluster")
    try:
        return list(pool.map(guarded, contexts))
    finally:
        # On Ctrl-C, clusters not started yet are not started; those under way end with their request timeout.
        pool.shutdown(wait=False, cancel_futures=True)


def exit_code(reports: Sequence[ClusterReport], unconfirmed_ok: bool = False) -> int:
    """The worst exit code of the clusters (see the module's docstring for the order)."""
    return max((r.exit_code(unconfirmed_ok) for r in reports), key=WORST_LAST.index, default=0)
