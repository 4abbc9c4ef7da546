"""The HTML leaderboard: same tables as the Markdown, ROC curves and map galleries, rendered in headless Chromium."""

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from dgfas.cli import main
from dgfas.tracking.html import map_to_rgb, markdown_to_html, render_html

GOLDEN_MARKDOWN = Path(__file__).parent / "golden" / "leaderboard.md"


class _Page(HTMLParser):
    """Tables (rows of cell texts), the ``aria-sort`` of their headers, ``<img>`` sources and ``<body>``'s attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.sorted_headers: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.body: dict[str, str] = {}
        self._cell: list[str] | None = None
        self._sort: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._sort = [], attrs.get("aria-sort")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            self.tables[-1][-1].append(text)
            if self._sort:
                self.sorted_headers.append((text, self._sort))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _markdown_rows(markdown: str) -> list[list[str]]:
    return [
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        for line in markdown.splitlines()
        if line.startswith("|") and not line.startswith("| ---")
    ]


def test_page_has_every_cell_and_header_line_of_the_markdown_and_no_outside_source():
    markdown = GOLDEN_MARKDOWN.read_text(encoding="utf-8")
    page = render_html(markdown, roc_images={}, galleries=[])
    parsed = _Page(page)
    assert [row for table in parsed.tables for row in table] == _markdown_rows(markdown)
    text = html.unescape(re.sub(r"<[^>]+>", "", markdown_to_html(markdown)))
    for line in markdown.splitlines():
        if line.startswith("- "):  # header lines: data source, selection rule, threshold rule, seeds, ...
            assert re.sub(r"\*\*|`", "", line[2:]) in text
    assert "default-src 'none'" in page and not re.search(r"(src|href)=\"(?!data:)", page)


def test_map_to_rgb_follows_the_channel_contract():
    depth = np.array([[[-0.5, 0.5], [1.0, 2.0]]])  # (1, 2, 2): clipped to [0, 1], grey
    assert map_to_rgb(depth)[..., 0].tolist() == [[0, 128], [255, 255]]
    reflection = np.zeros((3, 2, 2))
    reflection[0] = 1.0  # red
    assert map_to_rgb(reflection)[0, 0].tolist() == [255, 0, 0]
    parsing = np.zeros((7, 2, 2))
    parsing[3, 1, 1] = 5.0  # one pixel of class 3, the rest class 0
    rgb = map_to_rgb(parsing)
    assert rgb.shape == (2, 2, 3) and rgb[0, 0].tolist() != rgb[1, 1].tolist() and rgb[0, 0].tolist() == rgb[0, 1].tolist()


def _chromium(url: str, profile: Path) -> _Page:
    command = [
        shutil.which("chromium") or "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return _Page(done.stdout)


@pytest.mark.slow
def test_html_leaderboard_moved_elsewhere_renders_sorts_and_decodes_every_image_in_chromium(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    monkeypatch.chdir(work)
    assert main([
        "benchmark", "--preset", "tiny", "--protocols", "C-I", "--methods", "erm,pyramid", "--no-progress",
        "--cache", str(work / "cache"), "--runs-dir", str(work / "runs"), "--leaderboard-dir", str(work / "boards"),
    ]) == 0
    assert main(["leaderboard", "--suite", "synthetic-tiny", "--out", str(work / "boards"), "--html"]) == 0
    # The page must not need the folder it was written to, nor the tracking store it was drawn from:
    # move the boards elsewhere and delete everything else (runs, artifacts, caches) before opening it.
    (tmp_path / "copied").mkdir()
    boards = Path(shutil.move(work / "boards", tmp_path / "copied" / "boards"))
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(work)
    page_path = boards / "synthetic-tiny.html"
    markdown = (boards / "synthetic-tiny.md").read_text(encoding="utf-8")
    page_text = page_path.read_text(encoding="utf-8")
    # nothing that could reach outside the page: no source or link but data:, no file URI, no path of the old folder
    assert not re.search(r"(src|href)=\"(?!data:)", page_text)
    assert "file:" not in page_text and str(work) not in page_text

    by_name = _chromium(page_path.as_uri() + "?sort=0", tmp_path / "profile")
    computed = by_name.tables[0]
    assert computed[0] == _markdown_rows(markdown)[0]  # header: Method, C→I, Average
    assert [row[0] for row in computed[1:]] == ["erm", "pyramid"]
    assert by_name.sorted_headers[0] == ("Method", "ascending")
    # one ROC figure (C→I) and, for pyramid only, 4 inputs next to 4 depth maps
    assert len(by_name.images) == 1 + 4 * 2 and all(src.startswith("data:image/png;base64,") for src in by_name.images)
    assert by_name.body["data-images-decoded"] == by_name.body["data-images-total"] == "9"
    gallery = by_name.tables[-1]
    assert gallery[0] == ["frame", "input", "depth"] and [row[0][:4] for row in gallery[1:]].count("live") == 2

    # clicking twice sorts descending; the method order is the reverse of the first dump's either way
    by_name_descending = _chromium(page_path.as_uri() + "?sort=0&sort=0", tmp_path / "profile")
    assert [row[0] for row in by_name_descending.tables[0][1:]] == ["pyramid", "erm"]
    by_hter = _chromium(page_path.as_uri() + "?sort=1&sort=1", tmp_path / "profile")
    hters = [float(row[1].split()[0]) for row in by_hter.tables[0][1:]]
    assert hters == sorted(hters, reverse=True) and by_hter.sorted_headers[0] == ("C→I", "descending")
    # the page shows the Markdown's numbers
    assert sorted(by_hter.tables[0][1:]) == sorted(_markdown_rows(markdown)[1:3])
