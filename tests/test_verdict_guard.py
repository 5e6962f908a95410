"""The guard every check runs behind: what could not be seen can only make a verdict UNKNOWN."""

from __future__ import annotations

import pytest

from kubectl_aiconf.checks import Check, blind_reason, guard_verdict
from kubectl_aiconf.checks.common import Finding, decide
from kubectl_aiconf.resources import CRDS, DEPLOYMENTS, NODES, PODS
from kubectl_aiconf.result import CheckResult, Evidence, Reason, Status
from kubectl_aiconf.view import BlindRead, ClusterView, Listing, Outcome

FORBIDDEN = Listing(NODES, Outcome.FORBIDDEN)
FAILED = Listing(PODS, Outcome.ERROR, detail="500 Internal Server Error")
MISSING = Listing(CRDS, Outcome.NO_DATA)


class _View(ClusterView):
    def __init__(self, *listings: Listing, served=None, gaps=()):
        super().__init__()
        self._listings = {listing.resource.key: listing for listing in listings}
        self._served = served or {}
        self._gaps = list(gaps)

    def discovery_gaps(self, group, resource=None):
        return [] if self.serves(group, resource) else self._gaps


@pytest.mark.parametrize("outcome", [Outcome.FORBIDDEN, Outcome.ERROR, Outcome.NO_DATA])
def test_items_of_a_listing_that_could_not_be_read_cannot_be_read(outcome):
    with pytest.raises(BlindRead, match="nodes"):
        _ = Listing(NODES, outcome, [{"metadata": {"name": "n"}}]).items


def test_a_listing_of_an_api_not_served_is_known_to_be_empty():
    assert Listing(NODES, Outcome.NOT_SERVED).items == []


@pytest.mark.parametrize("status", [Status.PASS, Status.WARN, Status.FAIL, Status.NA])
def test_any_verdict_next_to_a_blind_spot_becomes_unknown_and_names_it(status):
    result = guard_verdict(CheckResult(status, "seen", [Evidence("Node", "n", "x")], Reason.HEALTHY), [FORBIDDEN])
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.FORBIDDEN)
    assert "list nodes (cluster scope)" in result.message and result.evidence


def test_a_verdict_that_holds_despite_blind_spots_is_kept():
    kept = CheckResult(Status.PASS, "healthy", [], Reason.HEALTHY, holds_despite_blind=True)
    assert guard_verdict(kept, [FORBIDDEN]) is kept


def test_a_result_without_a_reason_is_refused():
    with pytest.raises(ValueError, match="without a reason"):
        guard_verdict(CheckResult(Status.PASS, "healthy"), [])


def test_blind_reason_prefers_forbidden_then_failed_then_missing():
    assert blind_reason([MISSING, FAILED, FORBIDDEN]) is Reason.FORBIDDEN
    assert blind_reason([MISSING, FAILED]) is Reason.READ_FAILED
    assert blind_reason([MISSING]) is Reason.NOT_IN_SNAPSHOT


def _check(function, *reads):
    return Check("test", function, reads)


def test_the_guard_sees_every_listing_the_check_read():
    def reads_both(view):
        view.list(DEPLOYMENTS)
        view.list(NODES)
        return CheckResult(Status.FAIL, "nothing", [], Reason.NOT_INSTALLED)

    view = _View(Listing(DEPLOYMENTS, Outcome.OK, []), FORBIDDEN)
    result = _check(reads_both, DEPLOYMENTS, NODES).run(view)
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.FORBIDDEN)


def test_a_listing_the_check_never_read_does_not_matter():
    def reads_one(view):
        view.list(DEPLOYMENTS)
        return CheckResult(Status.FAIL, "nothing", [], Reason.NOT_INSTALLED)

    view = _View(Listing(DEPLOYMENTS, Outcome.OK, []), FORBIDDEN)
    assert _check(reads_one, DEPLOYMENTS, NODES).run(view).status is Status.FAIL


def test_a_group_a_snapshot_cannot_say_is_served_is_a_blind_spot():
    def asks_discovery(view):
        if not view.serves("gateway.networking.k8s.io"):
            return CheckResult(Status.FAIL, "Gateway API is not installed", [], Reason.NOT_INSTALLED)
        return CheckResult(Status.PASS, "served", [], Reason.HEALTHY)

    result = _check(asks_discovery).run(_View(gaps=[MISSING]))
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.NOT_IN_SNAPSHOT)
    assert _check(asks_discovery).run(_View()).status is Status.FAIL


def test_decide_passes_on_a_healthy_finding_whatever_is_blind():
    found = [Finding(Status.WARN, Reason.CRDS_ONLY, "crds"), Finding(Status.PASS, Reason.HEALTHY, "runs")]
    result = decide(found, [FORBIDDEN], "no scheduler", "absent")
    assert (result.status, result.reason, result.holds_despite_blind) == (Status.PASS, Reason.HEALTHY, True)
    assert result.message == "runs; also crds"


def test_decide_without_a_healthy_finding_is_unknown_next_to_a_blind_spot():
    result = decide([Finding(Status.FAIL, Reason.UNHEALTHY, "broken")], [FAILED], "no scheduler", "absent")
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.READ_FAILED)
    result = decide([], [FAILED], "no scheduler", "absent")
    assert result.status is Status.UNKNOWN and result.message.startswith("no scheduler in what could be read")


def test_decide_with_nothing_found_and_nothing_blind_is_the_absent_verdict():
    result = decide([], [], "no scheduler", "no gang scheduler", Status.FAIL)
    assert (result.status, result.reason, result.message) == (Status.FAIL, Reason.NOT_INSTALLED, "no gang scheduler")


def test_the_readme_documents_every_reason_code_and_no_other():
    import re

    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Reason codes", 1)[1].split("\n\n", 3)[2]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M))
    assert documented == {r.value for r in Reason}


def test_a_listing_not_served_where_discovery_cannot_say_is_a_blind_spot():
    def lists_deployments(view):
        if not view.list(DEPLOYMENTS).items:
            return CheckResult(Status.FAIL, "no controller", [], Reason.NOT_INSTALLED)
        return CheckResult(Status.PASS, "controller", [], Reason.HEALTHY)

    not_served = Listing(DEPLOYMENTS, Outcome.NOT_SERVED)
    result = _check(lists_deployments, DEPLOYMENTS).run(_View(not_served, gaps=[MISSING]))
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.NOT_IN_SNAPSHOT)
    assert _check(lists_deployments, DEPLOYMENTS).run(_View(not_served)).status is Status.FAIL


def test_a_version_a_snapshot_cannot_choose_is_a_blind_spot():
    def picks_a_version(view):
        if view.choose_version(DEPLOYMENTS) is None:
            return CheckResult(Status.FAIL, "API not served", [], Reason.NOT_INSTALLED)
        return CheckResult(Status.PASS, "served", [], Reason.HEALTHY)

    result = _check(picks_a_version).run(_View(gaps=[MISSING]))
    assert (result.status, result.reason) == (Status.UNKNOWN, Reason.NOT_IN_SNAPSHOT)
    served = _View(served={"apps": {"v1": ["deployments"]}}, gaps=[MISSING])
    assert _check(picks_a_version).run(served).status is Status.PASS
