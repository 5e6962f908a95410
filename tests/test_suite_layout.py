"""How the test suite is split between pytest-xdist workers (tests/conftest.py): what must stay together does."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REAL_NODE_GROUP, work_unit

INTEGRATION = Path(__file__).resolve().parent / "integration"
# what a module does when it starts a sandbox with a real node (directly, or through test_realnode's helper)
STARTS_A_REAL_NODE = ("real_node=True", "started_sandbox")


def test_every_module_that_starts_a_real_node_runs_in_the_real_node_group():
    starters = sorted(
        p.name for p in INTEGRATION.glob("test_*.py") if any(s in p.read_text() for s in STARTS_A_REAL_NODE)
    )
    assert starters, "no integration module starts a real node: STARTS_A_REAL_NODE is out of date"
    grouped = [name for name in starters if work_unit(f"tests/integration/{name}::test_x") == REAL_NODE_GROUP]
    assert grouped == starters


def test_other_modules_are_units_of_their_own():
    assert work_unit("tests/integration/test_check_live.py::test_a[admin]") == "tests/integration/test_check_live.py"
    assert work_unit("tests/test_cli.py::test_b") == "tests/test_cli.py"
    assert work_unit("tests/integration/test_realnode_dra.py::test_c") == REAL_NODE_GROUP
