"""The documented read-only ClusterRole covers exactly what the checks list, with read verbs only."""

import yaml

from kubectl_aiconf import resources
from kubectl_aiconf.view import Resource

from conftest import TESTDATA


def _granted():
    role = yaml.safe_load((TESTDATA / "rbac" / "aiconf-reader.yaml").read_text())
    granted = set()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list"}, rule
        assert "secrets" not in rule["resources"]
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    return granted


def test_reader_role_covers_every_listed_resource():
    needed = {(r.group, r.resource) for r in vars(resources).values() if isinstance(r, Resource)}
    granted = _granted()
    assert needed - granted == set(), "add these to testdata/rbac/aiconf-reader.yaml"
    assert granted - needed == set(), "the role grants reads no check needs"
