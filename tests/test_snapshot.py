import pytest

from conftest import TESTDATA
from kubectl_aiconf import resources as R
from kubectl_aiconf.view import LoadError, Outcome
from kubectl_aiconf.view.snapshot import SnapshotView, write_snapshot

KUBECTL_GET = TESTDATA / "snapshots" / "kubectl-get"


def test_reads_lists_typed_lists_and_version():
    view = SnapshotView(KUBECTL_GET)
    view.load([R.NODES, R.DAEMONSETS, R.DEPLOYMENTS, R.STATEFULSETS, R.CRDS, R.APISERVICES])
    assert view.kubernetes_version == "v1.35.3-gke.1200"
    nodes = view.list(R.NODES)
    assert nodes.ok and [n["metadata"]["name"] for n in nodes.items] == ["gpu-0"]
    # trimmed to what the checks read: no image list, no last-applied annotation body beyond annotations kept
    assert "images" not in nodes.items[0]["status"]
    daemonsets = view.list(R.DAEMONSETS)
    assert daemonsets.ok and daemonsets.items[0]["kind"] == "DaemonSet"
    assert daemonsets.items[0]["apiVersion"] == "apps/v1"
    assert view.list(R.DEPLOYMENTS).ok and view.list(R.DEPLOYMENTS).items == []  # an explicit empty list
    assert view.list(R.STATEFULSETS).outcome is Outcome.NO_DATA  # never listed: unknown, not absent
    assert "no statefulsets.apps listing" in view.list(R.STATEFULSETS).why_unknown()


def test_served_groups_inferred_from_crds_apiservices_and_builtins():
    view = SnapshotView(KUBECTL_GET)
    assert view.serves("kueue.x-k8s.io", "clusterqueues")
    assert not view.serves("gateway.networking.k8s.io")  # its CRD is not Established
    assert view.serves("custom.metrics.k8s.io")
    assert view.serves("resource.k8s.io", "resourceslices")  # DRA v1 is built in from 1.34
    view.load([R.GATEWAYS, R.RESOURCESLICES])
    assert view.list(R.GATEWAYS).outcome is Outcome.NOT_SERVED
    assert view.list(R.RESOURCESLICES).outcome is Outcome.NO_DATA


def test_dra_is_not_builtin_before_1_34(tmp_path):
    (tmp_path / "n.yaml").write_text("apiVersion: v1\nkind: NodeList\nitems: []\n")
    assert not SnapshotView(tmp_path, "1.33").serves("resource.k8s.io")
    assert SnapshotView(tmp_path, "1.34").serves("resource.k8s.io", "deviceclasses")


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("bad.yaml", "kind: Node\nmetadata: {name: [unclosed\n", "invalid YAML"),
        ("bad.json", '{"kind": ', "invalid JSON"),
        ("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "without apiVersion/kind"),
        ("scalar.yaml", "just a string\n", "expected a Kubernetes object"),
    ],
)
def test_bad_snapshot_files(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(LoadError, match=message):
        SnapshotView(tmp_path)


def test_missing_and_empty_snapshots(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        SnapshotView(tmp_path / "nope")
    with pytest.raises(LoadError, match="no .yaml"):
        SnapshotView(tmp_path)


def test_written_snapshot_reproduces_listings(tmp_path):
    original = SnapshotView(KUBECTL_GET)
    wanted = [R.NODES, R.DAEMONSETS, R.DEPLOYMENTS, R.STATEFULSETS, R.CRDS, R.GATEWAYS]
    original.load(wanted)
    write_snapshot(original, tmp_path)
    copy = SnapshotView(tmp_path)
    copy.load(wanted)
    assert copy.kubernetes_version == original.kubernetes_version
    for res in wanted:
        a, b = original.list(res), copy.list(res)
        assert a.outcome == b.outcome, res.key
        if a.visible:  # the items of a listing that was not read cannot be read (BlindRead)
            assert a.items == b.items, res.key
    assert copy.serves("kueue.x-k8s.io", "clusterqueues") and not copy.serves("gateway.networking.k8s.io")


def test_forbidden_reads_recorded_in_snapshot_info(tmp_path):
    (tmp_path / "info.yaml").write_text(
        "apiVersion: aiconf/v1\nkind: SnapshotInfo\nspec:\n  kubernetesVersion: v1.35.0\n  reads:\n"
        "  - {resource: nodes, outcome: forbidden, detail: 'nodes is forbidden'}\n"
    )
    view = SnapshotView(tmp_path)
    view.load([R.NODES])
    listing = view.list(R.NODES)
    assert listing.outcome is Outcome.FORBIDDEN and not listing.visible
    assert listing.why_unknown() == "forbidden: missing permission to list nodes (cluster scope)"


def test_unloaded_resource_is_a_programming_error():
    view = SnapshotView(KUBECTL_GET)
    with pytest.raises(KeyError, match="READS"):
        view.list(R.PODS)


def test_the_command_line_freezes_what_a_view_loaded_out_of_garbage_collection(tmp_path):
    """Once the command line opened a view, what the view loads is left out of the collector's walks (the
    checks of a large snapshot took a third longer without it); other processes, like this test run, keep
    their collection as it was."""
    import subprocess
    import sys

    (tmp_path / "nodes.json").write_text('{"apiVersion": "v1", "kind": "NodeList", "items": []}')
    script = (
        "import gc, sys\n"
        "from kubectl_aiconf import cli\n"
        "from kubectl_aiconf.view.snapshot import SnapshotView\n"
        "SnapshotView(sys.argv[1])\n"
        "print(gc.get_freeze_count() == 0)\n"
        "sys.argv = ['kubectl-aiconf', 'check', '--snapshot', sys.argv[1], '-o', 'json']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.get_freeze_count() > 0, gc.isenabled(), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.split()[0] == "True"  # a view alone freezes nothing
    assert proc.stderr.split()[-2:] == ["True", "True"], proc.stderr  # the command line did, collection still on
