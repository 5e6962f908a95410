"""Pods read per namespace, concurrently, against the real API server: the same pods as one paginated
listing, as the admin and as the limited user (page size and threshold shrunk so that a scenario's pods
are "many")."""

from __future__ import annotations

import pytest

from kubectl_aiconf import resources as R
from kubectl_aiconf.view import Outcome
from kubectl_aiconf.view import live as live_module
from kubectl_aiconf.view.live import LiveView


def _pods(kubeconfig) -> tuple[set[tuple[str, str]], list[str]]:
    view = LiveView.connect(str(kubeconfig), None, 30)
    paths: list[str] = []
    request = view.conn.request

    def recording(method, path, *args, **kwargs):
        paths.append(path)
        return request(method, path, *args, **kwargs)

    view.conn.request = recording  # type: ignore[method-assign]
    view.load([R.PODS])
    listing = view.list(R.PODS)
    assert listing.outcome is Outcome.OK, listing.detail
    return {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in listing.items}, paths


@pytest.mark.parametrize("user", ["admin", "limited"])
def test_pods_read_per_namespace_are_the_pods_of_one_listing(sandbox, monkeypatch, user):
    sandbox.use_scenario("ai-platform")
    kubeconfig = sandbox.admin_kubeconfig if user == "admin" else sandbox.limited_kubeconfig
    whole, whole_paths = _pods(kubeconfig)
    assert len(whole) >= 6 and len({ns for ns, _ in whole}) >= 2, whole  # the scenario's pods, several namespaces
    assert not [p for p in whole_paths if p.startswith("/api/v1/namespaces/")]  # a few pods: one listing

    monkeypatch.setattr(live_module, "PAGE_SIZE", 2)
    monkeypatch.setattr(live_module, "SLICE_THRESHOLD", 3)
    sliced, paths = _pods(kubeconfig)
    assert sliced == whole
    namespaced = {p.split("/")[4] for p in paths if p.startswith("/api/v1/namespaces/") and p.endswith("/pods")}
    assert {ns for ns, _ in whole} <= namespaced
