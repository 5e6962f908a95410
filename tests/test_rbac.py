"""The documented read-only ClusterRole covers exactly what the checks list, with read verbs only."""

import yaml

from conftest import TESTDATA
from kubectl_aiconf import resources
from kubectl_aiconf.knowledge import autoscalers


def _granted():
    role = yaml.safe_load((TESTDATA / "rbac" / "aiconf-reader.yaml").read_text())
    granted = set()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list"}, rule
        assert "secrets" not in rule["resources"]
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    return granted


def test_reader_role_covers_every_listed_resource():
    needed = {(r.group, r.resource) for r in resources.ALL}
    granted = _granted()
    assert needed - granted == set(), "add these to testdata/rbac/aiconf-reader.yaml"
    assert granted - needed == set(), "the role grants reads no check needs"


def test_reader_role_covers_every_api_the_registry_says_the_checks_list():
    """A new record (a scheduler's queues, an operator's custom resources, ...) without a rule fails here."""
    import knowledge_coverage as kc

    granted = _granted()
    missing = [f"{rid}: {api.qualified}" for rid, api in kc.listed_apis() if (api.group, api.plural) not in granted]
    assert missing == [], "add these to testdata/rbac/aiconf-reader.yaml"


def test_one_definition_per_resource():
    """resources.py defines each resource once: the view lists it once, resource_for finds one definition."""
    keys = [(r.group, r.resource) for r in resources.ALL]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert resources.resource_for(autoscalers.KEDA.apis[0]) is resources.KEDA_SCALEDOBJECTS


def test_checks_read_exactly_the_definitions():
    """Every check lists resources through resources.py (the same definition, `keep` included), and every
    definition there is read by some check: the ClusterRole above is then exactly what the checks need."""
    from kubectl_aiconf.catalogue import VERSIONS
    from kubectl_aiconf.runner import reads_for

    read = {res for version in VERSIONS for res in reads_for(version)}
    assert [r.key for r in read if r not in resources.ALL] == [], "define these in kubectl_aiconf/resources.py"
    unread = [r.key for r in resources.ALL if r not in read and r not in resources.VIEW_READS]
    assert unread == [], "no check reads these"
