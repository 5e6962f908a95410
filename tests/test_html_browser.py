"""`-o html` in a real browser: Debian's chromium, headless, parses the page, draws it and prints it.

What is checked is what the browser made of the file: the DOM after parsing (`--dump-dom`), a screenshot (decoded
here: its size, that it is not blank, that the status colours were painted) and a PDF print (`--print-to-pdf`).
Marked `browser`: `make unit` leaves these out, `make test` runs them. Without chromium they are skipped, and with
CI=true they fail (.ci/run installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from kubectl_aiconf.output import RenderOptions
from kubectl_aiconf.output.html import CSS, render_doc, render_fleet

pytestmark = pytest.mark.browser

FLEET_FILE = Path(__file__).resolve().parent.parent / "testdata" / "output" / "html-fleet.json"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WIDTH, HEIGHT = 1280, 2000
# Headless, offline, nothing kept: no sandbox (tests may run as root), no GPU, no background network or updates.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        reason = "chromium not found (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The fixture fleet as one page, its first cluster alone, and ten clusters with long names."""
    docs = json.loads(FLEET_FILE.read_text(encoding="utf-8"))
    many = [dict(docs[i % 3], context=f"gke_project-{i}_europe-west4_cluster-{i}") for i in range(10)]
    folder = tmp_path_factory.mktemp("html")
    out = {name: folder / f"{name}.html" for name in ("fleet", "single", "many")}
    out["fleet"].write_text(render_fleet(docs, RenderOptions("html")), encoding="utf-8")
    out["single"].write_text(render_doc(docs[0], RenderOptions("html")), encoding="utf-8")
    out["many"].write_text(render_fleet(many, RenderOptions("html")), encoding="utf-8")
    return out


def browse(chromium: str, tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def text_of(dom: str) -> str:
    """The DOM's text with tags dropped and entities resolved, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


@pytest.mark.parametrize("name", ["single", "fleet"])
def test_browser_builds_the_page(chromium, pages, tmp_path, name):
    dom = browse(chromium, tmp_path, pages[name], "--dump-dom").stdout
    assert dom.lstrip().lower().startswith("<!doctype html>")
    assert "<script" not in dom.lower() and "<img" not in dom.lower()  # the injected markup stayed text
    text = text_of(dom)
    assert "Kubernetes AI Conformance report" in text
    assert "Kubernetes version v1.35.2 Checklist Kubernetes AI Conformance 1.35 Source a live cluster" in text
    assert "FAIL A MUST requirement failed: the check exits 1 (1 MUST waived)." in text
    assert "Scheduling &amp; Orchestration" in re.findall(r"<h[23]>([^<]*)</h[23]>", dom)
    assert re.search(r'<span class="st st-fail">FAIL</span> <span class="tag">waived</span>', dom)
    assert "Waived until 2099-03-31 by alice: Gateway rollout planned for Q1 <script>alert('waiver')</script>" in text
    assert "Waiver expired on 2026-01-31 by sre@example.com" in text
    assert "no Gateway API implementation serves the cluster <script>alert('message')</script>" in text
    if name == "fleet":
        assert "Requirements by cluster" in text
        assert "3 clusters: 1 failed a MUST, 1 not confirmed, 1 not reached" in text
        assert "NOT CHECKED The cluster could not be checked: cannot connect to" in text


# PNG ---------------------------------------------------------------------------------------------------------
def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of pixels (RGB or RGBA, 8 bits) of a PNG: enough of the format for a screenshot."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        else:
            assert kind == 0, f"unknown PNG filter {kind}"
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def colours(rows: list[bytes], bpp: int) -> dict[bytes, int]:
    counts: dict[bytes, int] = {}
    for row in rows:
        for i in range(0, len(row), bpp):
            pixel = row[i : i + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    return counts


def css_background(selector: str) -> bytes:
    """The background colour the page's style sheet gives a status badge, as RGB bytes."""
    match = re.search(re.escape(selector) + r" \{[^}]*background: #([0-9a-f]{6})", CSS)
    assert match, selector
    return bytes.fromhex(match.group(1))


@pytest.mark.parametrize("name", ["single", "fleet"])
def test_browser_draws_the_page(chromium, pages, tmp_path, name):
    png = tmp_path / f"{name}.png"
    browse(
        chromium, tmp_path, pages[name], f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"
    )
    data = png.read_bytes()
    width, height, rows = decode_png(data)
    assert (width, height) == (WIDTH, HEIGHT)
    bpp = len(rows[0]) // width
    counts = colours(rows, bpp)
    assert len(counts) > 50, f"only {len(counts)} colours: a blank or unstyled page"
    white = counts.get(b"\xff\xff\xff", 0)
    assert 0.4 < white / (width * height) < 0.98, "the page is mostly white, with text on it"
    # every status badge was painted in its colour (the fixture has every status in the top 2000 pixels)
    for status in ("pass", "warn", "fail", "na", "unknown"):
        colour = css_background(f".st-{status}")
        assert counts.get(colour, 0) > 200, f"no {status} badge ({colour.hex()}) on the screenshot"


def test_browser_keeps_ten_clusters_within_a_page_wide_window(chromium, pages, tmp_path):
    """At about the width of a printed page nothing runs into the right margin: the matrix tables fit."""
    width, height = 800, 2400
    png = tmp_path / "many.png"
    browse(
        chromium, tmp_path, pages["many"], f"--screenshot={png}", f"--window-size={width},{height}", "--hide-scrollbars"
    )
    got_width, got_height, rows = decode_png(png.read_bytes())
    assert (got_width, got_height) == (width, height)
    bpp = len(rows[0]) // width
    margin = 24  # of the page's 32 pixels of padding
    drawn = [y for y, row in enumerate(rows) if row[(width - margin) * bpp :].strip(b"\xff")]
    assert not drawn, f"something is drawn in the right margin on {len(drawn)} rows, from y={drawn[0]}"
    assert len(colours(rows[:1600], bpp)) > 50  # and the page is there (both matrix tables are in the top 1600)


def test_browser_prints_the_fleet_on_several_pages(chromium, pages, tmp_path):
    pdf = tmp_path / "fleet.pdf"
    browse(chromium, tmp_path, pages["fleet"], f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages_drawn = len(re.findall(rb"/Type\s*/Page\b", data))
    # each cluster starts a page, so three clusters and the overview make at least four
    assert pages_drawn >= 4, pages_drawn
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count (\d+)", data, re.S)]
    assert counts and max(counts) == pages_drawn
