"""`-o html` on fixtures: the page's parts, escaping, grouping, waivers, the fleet matrix, no outside references.

The pages are parsed with the standard library's HTML parser into a small tree, so the tests read what a browser
would build (elements, attributes, text), not substrings of the markup. tests/test_html_browser.py renders the
same fixtures in a real browser.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kubectl_aiconf.catalogue import BY_ID, CATEGORIES, requirements_for
from kubectl_aiconf.output import FORMATS, RenderOptions, render
from kubectl_aiconf.output.html import render_doc, render_fleet
from kubectl_aiconf.output.markdown import title
from kubectl_aiconf.result import Evidence, Reason, Report, RequirementResult, Status

FLEET_FILE = Path(__file__).resolve().parent.parent / "testdata" / "output" / "html-fleet.json"
OPTIONS = RenderOptions("html")
INLINE = {"a", "code", "span"}
VOID = {"meta", "br", "img", "link", "input", "hr", "source", "wbr", "area", "base", "col", "embed", "track"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """The text a reader sees: inline elements run on, other elements are set apart, whitespace collapses."""
        parts = [c if isinstance(c, str) else c.text() if c.tag in INLINE else f" {c.text()} " for c in self.children]
        return " ".join("".join(parts).split())

    def iter(self, tag: str | None = None, cls: str | None = None):
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (cls is None or cls in child.attrs.get("class", "").split()):
                    yield child
                yield from child.iter(tag, cls)

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = next(self.iter(tag, cls), None)
        assert found is not None, f"no <{tag} class={cls}>"
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements: " + ", ".join(n.tag for n in builder.stack[1:])
    return builder.root


def fleet_docs() -> list[dict]:
    return json.loads(FLEET_FILE.read_text(encoding="utf-8"))


def prod_east() -> dict:
    return fleet_docs()[0]


def articles(root: Node) -> dict[str, Node]:
    """The requirement blocks by requirement id (their element id ends with it)."""
    return {a.attrs["id"].rsplit("-", 1)[1]: a for a in root.iter("article")}


def report_from(doc: dict) -> Report:
    results = [
        RequirementResult(
            r["id"],
            r["category"],
            r["level"],
            BY_ID[r["id"]].description,
            Status(r["status"]),
            r["message"],
            [Evidence(**e) for e in r["evidence"]],
            Reason(r["reason"]),
        )
        for r in doc["requirements"]
    ]
    return Report(
        doc["conformanceVersion"], doc["kubernetesVersion"], doc["context"], doc["source"], results, doc["warnings"]
    )


def without_waivers(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for r in doc["requirements"]:
        r.pop("waiver", None)
    return doc


# one cluster -----------------------------------------------------------------------------------------------
def test_html_is_registered_and_renders_a_report_as_its_json_document():
    assert FORMATS["html"] == "html"
    doc = without_waivers(prod_east())
    page = render(report_from(doc), OPTIONS)
    assert page == render_doc(doc, OPTIONS)
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")


def test_summary_shows_cluster_versions_source_counts_and_exit_meaning():
    root = parse(render_doc(prod_east(), OPTIONS))
    assert root.find("title").text() == "AI Conformance report: prod-east"
    assert root.find("header").text() == (
        "Kubernetes AI Conformance report context prod-east, Kubernetes v1.35.2, checklist 1.35"
    )
    facts = root.find("dl", "facts")
    labels = [dt.text() for dt in facts.iter("dt")]
    values = dict(zip(labels, (dd.text() for dd in facts.iter("dd"))))
    assert values == {
        "Cluster": "context prod-east",
        "Kubernetes version": "v1.35.2",
        "Checklist": "Kubernetes AI Conformance 1.35",
        "Source": "a live cluster",
        "Results": "4 PASS, 2 WARN, 2 FAIL (1 waived), 2 N/A, 2 UNKNOWN",
    }
    verdict = root.find("p", "verdict")
    assert "v-fail" in verdict.attrs["class"]
    assert verdict.text() == "FAIL A MUST requirement failed: the check exits 1 (1 MUST waived)."
    warnings = root.find("section", "notes")
    assert [li.text() for li in warnings.iter("li")][1] == "<i>not markup</i>"


def test_every_status_is_written_out_beside_its_colour():
    root = parse(render_doc(prod_east(), OPTIONS))
    badges = list(root.iter("span", "st"))
    assert badges
    for badge in badges:
        classes = badge.attrs["class"].split()
        assert badge.text() in ("PASS", "WARN", "FAIL", "N/A", "UNKNOWN", "NOT CONFIRMED", "NOT CHECKED"), classes
    by_id = articles(root)
    for r in prod_east()["requirements"]:
        block = by_id[r["id"]]
        assert block.find("span", "st").text() == r["status"]
        assert f"r-{r['status'].lower().replace('/', '')}" in block.attrs["class"]


def test_requirements_grouped_by_category_in_checklist_order_with_musts_first():
    doc = prod_east()
    # the input lists accelerators' SHOULDs before their MUST
    accelerators = [r for r in doc["requirements"] if r["category"] == "accelerators"]
    doc["requirements"] = accelerators[1:] + accelerators[:1] + doc["requirements"][len(accelerators) :]
    root = parse(render_doc(doc, OPTIONS))
    sections = list(root.iter("section", "category"))
    headings = [s.find("h3").text() for s in sections]
    assert headings == list(CATEGORIES.values())
    for section in sections:
        levels = [a.find("span", "tag").text() for a in section.iter("article")]
        assert levels == sorted(levels, key=lambda level: level != "MUST"), section.find("h3").text()
    first = next(iter(sections[0].iter("article")))
    assert first.attrs["id"] == "r-dra_support"
    # the glance table lists the same order, by category rows
    glance = [tr.text() for tr in root.find("table", "glance").iter("tr")][1:]
    assert glance[:2] == ["Accelerators", "DRA Support MUST PASS healthy"]


def test_each_requirement_shows_description_message_reason_and_every_evidence_item():
    doc = prod_east()
    by_id = articles(parse(render_doc(doc, OPTIONS)))
    assert set(by_id) == {r["id"] for r in doc["requirements"]}
    for r in doc["requirements"]:
        block = by_id[r["id"]]
        assert block.find("p", "desc").text() == BY_ID[r["id"]].description
        assert block.find("p", "msg").text() == r["message"]
        assert f"reason {r['reason']}" in block.find("header").text()
        if r["evidence"]:
            items = [li.text() for li in block.find("ul", "evidence").iter("li")]
            assert items == [f"{e['kind']} {e['name']}: {e['fact']}" for e in r["evidence"]]
        else:
            assert "No evidence recorded." in block.text()
    assert "check this requirement by hand" in by_id["gpu_sharing"].text()
    assert "check this requirement by hand" not in by_id["dra_support"].text()


def test_user_supplied_markup_comes_out_as_text():
    docs = fleet_docs()
    for page in (render_doc(docs[0], OPTIONS), render_fleet(docs, OPTIONS)):
        root = parse(page)
        tags = {n.tag for n in root.iter()}
        assert tags <= {
            "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p", "section",
            "dl", "dt", "dd", "span", "code", "table", "thead", "tbody", "tr", "th", "td", "a", "br", "ul", "li",
            "article", "footer",
        }  # fmt: skip
        assert "<script" not in page.lower() and "<img" not in page.lower() and "<b>" not in page
        attributes = [name for n in root.iter() for name in n.attrs]
        assert not [a for a in attributes if a.startswith("on")]
        text = root.text()
        assert "no Gateway API implementation serves the cluster <script>alert('message')</script>" in text
        assert "<img src=x onerror=alert(1)>" in text
        assert 'fact with "quotes" & <b>markup</b>' in text
    assert "staging <b>bold</b>" in parse(render_fleet(docs, OPTIONS)).text()


def test_control_characters_and_newlines_do_not_break_the_layout():
    doc = prod_east()
    doc["requirements"][0]["message"] = "line one\nline two\x1b[31m red\x00"
    block = articles(parse(render_doc(doc, OPTIONS)))["dra_support"]
    assert block.find("p", "msg").text() == "line one line two [31m red"


def test_the_page_loads_nothing_and_runs_nothing():
    for page in (render_doc(prod_east(), OPTIONS), render_fleet(fleet_docs()[:2], OPTIONS)):
        lower = page.lower()
        assert "http" not in lower and "//" not in lower and "<script" not in lower
        assert "url(" not in lower and "@import" not in lower
        root = parse(page)
        assert not [n for n in root.iter() if "src" in n.attrs or n.tag in ("link", "iframe", "object", "img")]
        ids = {n.attrs["id"] for n in root.iter() if "id" in n.attrs}
        hrefs = [n.attrs["href"] for n in root.iter("a")]
        assert hrefs and all(h.startswith("#") for h in hrefs)
        assert {h[1:] for h in hrefs} <= ids  # every link lands on the page
        assert "@media print" in root.find("style").text()


# waivers ---------------------------------------------------------------------------------------------------
def test_waiver_keeps_the_status_and_says_until_when_by_whom_and_why():
    block = articles(parse(render_doc(prod_east(), OPTIONS)))["ai_inference"]
    assert block.find("span", "st").text() == "FAIL"
    assert block.find("span", "tag").text() == "waived"
    waiver = block.find("p", "waiver")
    assert "expired" not in waiver.attrs["class"]
    assert waiver.text() == (
        "Waived until 2099-03-31 by alice: Gateway rollout planned for Q1 <script>alert('waiver')</script> "
        "(for context prod-east)"
    )


def test_expired_waiver_is_flagged_and_excuses_nothing():
    doc = prod_east()
    block = articles(parse(render_doc(doc, OPTIONS)))["driver_runtime_management"]
    assert block.find("span", "st").text() == "WARN"
    assert block.find("span", "expired").text() == "waiver expired"
    waiver = block.find("p", "waiver")
    assert "expired" in waiver.attrs["class"].split()
    assert waiver.text() == (
        "Waiver expired on 2026-01-31 by sre@example.com: node pool gpu-b is being replaced. "
        "It no longer excuses this result."
    )
    # an expired waiver on the failing MUST leaves the verdict at FAIL; an unexpired one lifts it
    robust = next(r for r in doc["requirements"] if r["id"] == "robust_controller")
    robust["waiver"] = {"reason": "r", "expires": "2026-01-01", "by": "b", "context": None, "expired": True}
    assert parse(render_doc(doc, OPTIONS)).find("p", "verdict").text().startswith("FAIL A MUST requirement failed")
    robust["waiver"]["expired"] = False
    verdict = parse(render_doc(doc, OPTIONS)).find("p", "verdict").text()
    assert verdict.startswith("NOT CONFIRMED No MUST requirement failed") and "(2 MUSTs waived)" in verdict


def test_waiver_without_optional_fields():
    doc = prod_east()
    doc["requirements"][0]["waiver"] = {"reason": "known", "expires": "2099-01-01", "by": None, "context": None}
    waiver = articles(parse(render_doc(doc, OPTIONS)))["dra_support"].find("p", "waiver")
    assert waiver.text() == "Waived until 2099-01-01: known"


@pytest.mark.parametrize("version", ["1.33", "1.35"])
def test_verdict_agrees_with_the_exit_code(version):
    """The page's verdict is Report.exit_code's rule: every combination of statuses on three MUSTs and a SHOULD."""
    from kubectl_aiconf.output.html import _verdict

    expected = {"pass": 0, "fail": 1, "unknown": 3}
    reqs = requirements_for(version)
    musts = [r.id for r in reqs if r.level(version) == "MUST"][:3]
    should = next((r.id for r in reqs if r.level(version) == "SHOULD"), None)
    picked = musts + ([should] if should else [])
    shown = set()
    for combo in itertools.product(list(Status), repeat=len(picked)):
        statuses = dict(zip(picked, combo))
        results = [
            RequirementResult(
                r.id, r.category, r.level(version), r.description, statuses.get(r.id, Status.PASS), "m", [],
                Reason.HEALTHY,
            )
            for r in reqs
        ]  # fmt: skip
        report = Report(version, "v1", "ctx", "live", results)
        cls = _verdict(report.to_dict())[0]
        assert expected[cls] == report.exit_code(), statuses
        if cls not in shown:  # and the page says so, once per verdict
            shown.add(cls)
            verdict = parse(render(report, OPTIONS)).find("p", "verdict")
            assert f"v-{cls}" in verdict.attrs["class"].split()
            assert f"exits {report.exit_code()}" in verdict.text()
    assert shown == set(expected)


def test_snapshot_report_without_versions():
    doc = without_waivers(prod_east()) | {"context": None, "source": "snapshot", "kubernetesVersion": None}
    root = parse(render_doc(doc, OPTIONS))
    values = [dd.text() for dd in root.find("dl", "facts").iter("dd")]
    assert values[:4] == ["snapshot (no context)", "unknown", "Kubernetes AI Conformance 1.35", "a snapshot"]
    assert root.find("title").text() == "AI Conformance report: snapshot"
    assert root.find("p", "sub").text() == "snapshot, Kubernetes version unknown, checklist 1.35"


# several clusters ------------------------------------------------------------------------------------------
def matrix(root: Node) -> tuple[list[str], list[list[str]]]:
    table = root.find("table", "matrix")
    header = [th.text() for th in table.find("thead").iter("th")]
    rows = [[c.text() for c in tr.children if isinstance(c, Node)] for tr in table.find("tbody").iter("tr")]
    return header, rows


def test_fleet_matrix_requirements_by_cluster_musts_first():
    docs = fleet_docs()
    root = parse(render_fleet(docs, OPTIONS))
    header, rows = matrix(root)
    assert header == [
        "Requirement",
        "Level",
        "prod-east Kubernetes v1.35.2, checklist 1.35",
        "staging <b>bold</b> Kubernetes v1.33.7, checklist 1.33",
        "dr-west not reached",
    ]
    names = [row[0] for row in rows[:-1]]
    levels = [row[1] for row in rows[:-1]]
    # dra_support is MUST in 1.35 and SHOULD in 1.33: a MUST row, and its cells say which level where
    assert levels == ["MUST or SHOULD"] + ["MUST"] * 8 + ["SHOULD"] * 3
    assert names[0] == "DRA Support" and rows[0][2:] == ["PASS MUST", "WARN SHOULD", "not checked"]
    assert names[-3:] == ["Driver Runtime Management", "GPU Sharing", "Virtualized Accelerator"]
    by_name = {row[0]: row[2:] for row in rows[:-1]}
    assert by_name["AI Inference"] == ["FAIL waived", "PASS", "not checked"]
    assert by_name["Driver Runtime Management"] == ["WARN waiver expired", "not in 1.33", "not checked"]
    assert by_name["Secure Accelerator Access"] == ["PASS", "UNKNOWN", "not checked"]
    assert rows[-1] == ["Verdict", "FAIL", "NOT CONFIRMED", "NOT CHECKED"]
    # within each level, rows keep the checklist's category order
    by_title = {title(rid): rid for rid in BY_ID}
    categories = [BY_ID[by_title[name]].category for name in names[:9]]
    assert categories == sorted(categories, key=list(CATEGORIES).index)


def test_fleet_summary_and_cluster_sections():
    docs = fleet_docs()
    root = parse(render_fleet(docs, OPTIONS))
    assert root.find("title").text() == "AI Conformance report: 3 clusters"
    assert root.find("header").find("p", "sub").text() == "3 clusters: 1 failed a MUST, 1 not confirmed, 1 not reached"
    clusters = [
        [c.text() for c in tr.children if isinstance(c, Node)] for tr in root.find("table", "clusters").iter("tr")
    ]
    assert clusters[0] == ["Cluster", "Kubernetes", "Checklist", "Results", "Verdict"]
    assert clusters[1][:3] == ["prod-east", "v1.35.2", "1.35"]
    assert clusters[3][:4] == ["dr-west", "—", "—", "—"]
    assert (
        clusters[3][4]
        == "NOT CHECKED The cluster could not be checked: cannot connect to https://127.0.0.1:1: connection refused"
    )
    sections = list(root.iter("section", "cluster"))
    assert [s.find("h2").text() for s in sections] == [
        "Cluster prod-east",
        "Cluster staging <b>bold</b>",
        "Cluster dr-west",
    ]
    assert [s.attrs["id"] for s in sections] == ["c-1", "c-2", "c-3"]
    assert len(list(sections[0].iter("article"))) == 12 and len(list(sections[1].iter("article"))) == 9
    assert not list(sections[2].iter("article"))
    assert "connection refused" in sections[2].find("p", "verdict").text()
    # requirement ids are per cluster, and the matrix links to them
    assert articles(sections[1])["ai_inference"].attrs["id"] == "c-2-ai_inference"
    assert "Waived until 2099-03-31" in articles(sections[0])["ai_inference"].text()
    assert sections[0].find("section", "notes")  # the cluster's own warnings


def many_clusters(n: int) -> list[dict]:
    """n clusters cycling through the fixture's three, with long context names as cloud providers make them."""
    docs = []
    for i in range(n):
        doc = copy.deepcopy(fleet_docs()[i % 3])
        doc["context"] = f"gke_project-{i}_europe-west4_cluster-{i}"
        docs.append(doc)
    return docs


def test_fleet_matrix_is_split_into_tables_that_fit_a_page():
    from kubectl_aiconf.output.html import MATRIX_COLUMNS

    docs = many_clusters(MATRIX_COLUMNS + 3)
    root = parse(render_fleet(docs, OPTIONS))
    tables = list(root.iter("table", "matrix"))
    assert len(tables) == 2
    seen = []
    for table in tables:
        header = list(table.find("thead").iter("th"))[2:]
        seen += [th.find("a").text() for th in header]
        rows = list(table.find("tbody").iter("tr"))
        assert len(rows) == 13  # 12 requirements and the verdicts
        assert all(len([c for c in tr.children if isinstance(c, Node)]) == len(header) + 2 for tr in rows[:-1])
    assert seen == [d["context"] for d in docs]
    assert [len(list(t.find("thead").iter("th"))) - 2 for t in tables] == [MATRIX_COLUMNS, 3]


@pytest.mark.parametrize(
    "clusters, expected",
    [
        ([0, 1, 2], "FAIL A MUST requirement failed in 1 cluster: the check exits 1."),
        ([1, 2], "NOT CHECKED 1 cluster could not be checked: the check exits 2."),
        ([1, 1], "NOT CONFIRMED No MUST requirement failed, but not every one could be confirmed in 2 clusters: "
         "the check exits 3 (0 with --unconfirmed-ok)."),
    ],
)  # fmt: skip
def test_fleet_exit_code_is_the_worst_clusters(clusters, expected):
    docs = fleet_docs()
    root = parse(render_fleet([docs[i] for i in clusters], OPTIONS))
    assert root.find("section", None).find("p", "verdict").text() == expected


def test_fleet_of_passing_clusters():
    doc = without_waivers(prod_east())
    for r in doc["requirements"]:
        r["status"] = "PASS"
    root = parse(render_fleet([doc, doc], OPTIONS))
    verdict = root.find("section", None).find("p", "verdict")
    assert verdict.text() == "PASS Every MUST requirement passed or does not apply in every cluster: the check exits 0."


def test_fleet_takes_reports_and_documents_alike():
    docs = fleet_docs()
    report = report_from(without_waivers(docs[1]))
    mixed = render_fleet([report, docs[2]], OPTIONS)
    assert mixed == render_fleet([report.to_dict(), docs[2]], OPTIONS)
    _, rows = matrix(parse(mixed))
    assert rows[-1][1:] == ["NOT CONFIRMED", "NOT CHECKED"]


def test_html_renderer_imports_nothing_heavy():
    code = (
        "import sys, json\n"
        "from kubectl_aiconf.output import RenderOptions\n"
        "from kubectl_aiconf.output.html import render_fleet\n"
        f"render_fleet(json.load(open({str(FLEET_FILE)!r})), RenderOptions('html'))\n"
        "heavy = ('kubernetes', 'typer', 'click', 'tabulate', 'urllib3', 'yaml')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_cli_check_writes_the_page():
    from typer.testing import CliRunner

    from kubectl_aiconf import cli

    scenario = Path(__file__).resolve().parent.parent / "testdata" / "scenarios" / "gpu-cluster"
    args = ["check", "--snapshot", str(scenario), "--conformance-version", "1.35"]
    page = CliRunner().invoke(cli.app, [*args, "-o", "html"])
    doc = json.loads(CliRunner().invoke(cli.app, [*args, "-o", "json"]).stdout)
    assert page.exit_code in (0, 1, 3), page.output
    root = parse(page.stdout)
    assert f"exits {page.exit_code}" in root.find("p", "verdict").text()
    by_id = articles(root)
    assert list(by_id) == [r["id"] for _, rs in _groups(doc) for r in rs]
    for r in doc["requirements"]:
        assert by_id[r["id"]].find("span", "st").text() == r["status"]


def _groups(doc: dict) -> list[tuple[str, list[dict]]]:
    """The JSON's requirements by category, MUSTs first within each: the order the page lists them in."""
    groups = []
    for category in CATEGORIES:
        rows = [r for r in doc["requirements"] if r["category"] == category]
        groups.append((category, sorted(rows, key=lambda r: r["level"] != "MUST")))
    return groups


def test_waivers_from_a_waivers_file_render_as_their_json():
    """A Report with waivers applied (`check --waivers`) renders as its JSON document, and the verdict follows
    the exit code: the unexpired waiver on the failing MUST excuses it, the expired one does not."""
    import datetime

    from kubectl_aiconf import waivers

    report = report_from(without_waivers(prod_east()))
    data = [
        {"requirement": "ai_inference", "context": "prod-east", "reason": "Gateway in Q1", "expires": "2099-03-31",
         "by": "alice"},
        {"requirement": "robust_controller", "reason": "operator <b>next</b> week", "expires": "2026-01-31",
         "by": "bob"},
    ]  # fmt: skip
    waivers.apply(report, waivers.parse(data, "test", on=datetime.date(2026, 6, 1)))
    page = render(report, OPTIONS)
    assert page == render_doc(report.to_dict(), OPTIONS)
    by_id = articles(parse(page))
    assert by_id["ai_inference"].find("p", "waiver").text() == (
        "Waived until 2099-03-31 by alice: Gateway in Q1 (for context prod-east)"
    )
    assert by_id["robust_controller"].find("p", "waiver").text() == (
        "Waiver expired on 2026-01-31 by bob: operator <b>next</b> week. It no longer excuses this result."
    )
    verdict = parse(page).find("p", "verdict")
    assert report.exit_code() == 1 and "v-fail" in verdict.attrs["class"].split()
    assert verdict.text() == "FAIL A MUST requirement failed: the check exits 1 (1 MUST waived)."
