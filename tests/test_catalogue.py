import pytest

from kubectl_aiconf import catalogue
from kubectl_aiconf.catalogue import MUST, SHOULD, checklist_for_server, minor_of, requirements_for

# (MUST count, SHOULD count) per checklist, as the official checklists define them.
EXPECTED_TOTALS = {"1.33": (8, 1), "1.34": (9, 0), "1.35": (9, 3), "1.36": (8, 6), "1.37": (8, 7)}


@pytest.mark.parametrize("version", catalogue.VERSIONS)
def test_level_totals_per_version(version):
    levels = [r.level(version) for r in requirements_for(version)]
    assert (levels.count(MUST), levels.count(SHOULD)) == EXPECTED_TOTALS[version]


def test_sixteen_requirement_ids_across_versions():
    assert len(catalogue.REQUIREMENTS) == 16
    assert {r.category for r in catalogue.REQUIREMENTS} == set(catalogue.CATEGORIES)


def test_version_specific_membership():
    ids = {v: {r.id for r in requirements_for(v)} for v in catalogue.VERSIONS}
    assert catalogue.BY_ID["dra_support"].levels == {"1.33": SHOULD, "1.34": MUST, "1.35": MUST}
    assert "dra_support" not in ids["1.36"] | ids["1.37"]
    assert ids["1.37"] - ids["1.36"] == {"workload_sandboxing"}
    assert {"advanced_inference_ingress", "high_performance_networking", "disaggregated_inference"} <= ids["1.36"]
    assert "gpu_sharing" not in ids["1.34"] and "gpu_sharing" in ids["1.35"]


def test_requirements_follow_category_order():
    order = list(catalogue.CATEGORIES)
    for version in catalogue.VERSIONS:
        positions = [order.index(r.category) for r in requirements_for(version)]
        assert positions == sorted(positions)


@pytest.mark.parametrize(
    "server,minor",
    [("v1.35.3-gke.1200", "1.35"), ("v1.34.0", "1.34"), ("1.36", "1.36"), ("v1.33.5+k3s1", "1.33"), ("garbage", None)],
)
def test_minor_of(server, minor):
    assert minor_of(server) == minor


def test_server_version_selection():
    assert checklist_for_server("v1.35.3-eks-113cf36") == ("1.35", None)
    assert checklist_for_server("v1.37.0") == ("1.37", None)  # final since 2026-08-26
    version, warning = checklist_for_server("v1.40.2")
    assert version == "1.37" and "nearest lower checklist 1.37" in warning
    with pytest.raises(ValueError, match="older than the first"):
        checklist_for_server("v1.30.1")
    with pytest.raises(catalogue.UnknownVersion, match="known checklists"):
        requirements_for("1.32")
