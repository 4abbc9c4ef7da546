"""The leaderboard as one self-contained HTML page: its tables, ROC curves and predicted maps.

The page is a single file to mail or attach to a review: CSS and JavaScript are
inline, images are base64 ``data:`` URIs, and a Content-Security-Policy forbids
any other source, so opening it fetches nothing from the network.

* Tables: the Markdown leaderboard converted to HTML, so the two never disagree on
  a number or on the header (selection rule, threshold rule, seeds). Clicking a
  column header sorts by it (a cell's first number, HTER in a protocol column;
  "–" stays last); ``?sort=N`` in the URL clicks column N (0 = Method) of every
  table on load, and ``?sort=N&sort=N`` twice (descending).
* ROC curves: per protocol, one curve per method on the target test split, from
  the score file its run logged (the run of the method's lowest seed).
* Predicted maps: per protocol, for each method whose run logged
  ``run_contract.MAP_EXAMPLES``, its input frames next to the maps it predicts.

When the page has loaded, its script writes how many images decoded into the
``data-images-decoded`` and ``data-images-total`` attributes of ``<body>``, so a
headless browser's DOM dump shows whether every figure made it.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError
from dgfas.metric_names import score_file, table_name
from dgfas.protocols import get_protocol
from dgfas.scores import read_scores
from dgfas.tracking.table_order import protocol_order

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
table.board th { background: #f2f2f2; cursor: pointer; user-select: none; }
table.board th[aria-sort=ascending]::after { content: " ▲"; }
table.board th[aria-sort=descending]::after { content: " ▼"; }
table.board tbody tr:nth-child(even) { background: #fafafa; }
code { background: #f2f2f2; padding: 0 0.2rem; }
figure { display: inline-block; margin: 0 1rem 1rem 0; }
img.tile { width: 96px; height: 96px; image-rendering: pixelated; }
"""

_SCRIPT = """
function sortTable(th) {
  const table = th.closest("table"), body = table.tBodies[0], column = th.cellIndex;
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  const key = (row) => {
    const text = row.cells[column].textContent.trim(), value = parseFloat(text);
    return Number.isNaN(value) ? text : value;
  };
  // numbers first, then text, a missing cell last, whichever the direction
  const rank = (value) => (typeof value === "number" ? 0 : value === "\u2013" ? 2 : 1);
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (rank(x) !== rank(y)) return rank(x) - rank(y);
    const order = rank(x) === 0 ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  });
  rows.forEach((row) => body.appendChild(row));
  table.querySelectorAll("th").forEach((other) => other.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
}
document.querySelectorAll("table.board th").forEach((th) => th.addEventListener("click", () => sortTable(th)));
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.imagesDecoded = images.filter((image) => image.complete && image.naturalWidth > 0).length;
  document.body.dataset.imagesTotal = images.length;
  // ?sort=N clicks header N of every table; ?sort=N&sort=N clicks it twice (descending)
  new URLSearchParams(location.search).getAll("sort").forEach((column) => {
    document.querySelectorAll("table.board").forEach((table) => {
      const th = table.tHead.rows[0].cells[Number(column)];
      if (th) th.click();
    });
  });
});
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


@dataclass(frozen=True)
class MapGallery:
    """One run's logged map examples (the arrays of ``run_contract.MAP_EXAMPLES``).

    Attributes:
        protocol: Protocol name of the run.
        method: Leaderboard row name of the run.
        examples: ``image`` (N, H, W, 3) uint8, ``label`` (N,), ``video_id`` (N,)
            and ``map.<name>`` (N, C, h, w) per predicted map.
    """

    protocol: str
    method: str
    examples: dict[str, np.ndarray]


def write_html(path: str | os.PathLike[str], markdown: str, records: pd.DataFrame, *, level: str) -> Path:
    """Write the page of a leaderboard: ``markdown`` as tables, figures from ``records``' runs.

    Args:
        path: Output file, written atomically.
        markdown: The leaderboard as ``render_markdown`` wrote it.
        records: The run records the leaderboard aggregated (one per method,
            protocol and seed), with their MLflow ``run_id``.
        level: Score level of the leaderboard; the ROC curves use the same one.

    Returns:
        ``path``.
    """
    if "run_id" not in records.columns:
        raise DgfasError("the HTML leaderboard draws its figures from MLflow runs; these records have no run_id")
    from dgfas.tracking.run_contract import MAP_EXAMPLES
    from dgfas.tracking.stored_runs import download_artifacts

    scores_name = score_file(table_name("target_test", level))
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    galleries = []
    with tempfile.TemporaryDirectory(prefix="dgfas-html-") as work:
        for index, run in enumerate(_first_seed_runs(records).itertuples(index=False)):
            files = download_artifacts(run.run_id, [scores_name, MAP_EXAMPLES], Path(work) / str(index))
            if scores_name in files:
                scores = read_scores(files[scores_name])
                curves.setdefault(run.protocol, {})[run.method] = (scores["label"].to_numpy(), scores["score"].to_numpy())
            if MAP_EXAMPLES in files:
                with np.load(files[MAP_EXAMPLES]) as arrays:
                    galleries.append(MapGallery(run.protocol, run.method, dict(arrays)))
    roc_images = {protocol: _roc_png(protocol, of_protocol, level) for protocol, of_protocol in curves.items()}
    path = Path(path)
    atomic_write_text(path, render_html(markdown, roc_images=roc_images, galleries=galleries))
    return path


def _first_seed_runs(records: pd.DataFrame) -> pd.DataFrame:
    """The run of each (protocol, method) with the lowest seed, protocols in table order, methods by name."""
    rank = {name: position for position, name in enumerate(protocol_order(records["protocol"]))}
    first = records.sort_values("seed", kind="stable").drop_duplicates(["protocol", "method"])
    return first.assign(_rank=first["protocol"].map(rank)).sort_values(["_rank", "method"]).drop(columns="_rank")


def render_html(markdown: str, *, roc_images: dict[str, bytes], galleries: list[MapGallery]) -> str:
    """The page: tables from ``markdown``, then ROC images (PNG bytes by protocol), then map galleries."""
    title = markdown.splitlines()[0].lstrip("# ")  # "# Leaderboard: <suite>"
    body = [markdown_to_html(markdown)]
    if roc_images:
        body.append("<h2>ROC curves on the target test split</h2>")
        body.append("<p>One curve per method, from the run of its lowest seed.</p>")
        body += [
            f'<figure><img class="roc" alt="ROC curves, {html.escape(protocol)}" src="{_data_uri(png)}">'
            f"<figcaption>{html.escape(_protocol_title(protocol))}</figcaption></figure>"
            for protocol, png in roc_images.items()
        ]
    if galleries:
        body.append("<h2>Predicted maps on the target test split</h2>")
        body.append("<p>Target test frames (first frame of the first live and spoof videos) and the maps each "
                    "method predicts for them, from the run of its lowest seed. One-channel maps in grey from 0 "
                    "(black) to 1 (white); class maps as the highest-scoring class.</p>")
        body += [_gallery_html(gallery) for gallery in galleries]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


def markdown_to_html(markdown: str) -> str:
    """``render_markdown``'s Markdown as HTML: headings, paragraphs, bullet lists, pipe tables.

    Only that subset: the leaderboard writes no other Markdown, and converting
    its text (rather than rendering the numbers a second time) keeps the page
    and the ``.md`` file identical in content.
    """

    def kind(line: str) -> str:
        if not line.strip():
            return "blank"
        if line.startswith("#"):
            return "heading"
        if line.startswith("|"):
            return "table"
        return "list" if line.startswith("- ") else "paragraph"

    blocks = []
    for block_kind, group in itertools.groupby(markdown.splitlines(), key=kind):
        lines = list(group)
        if block_kind == "heading":
            for line in lines:
                depth = len(line) - len(line.lstrip("#"))
                blocks.append(f"<h{depth}>{_inline(line[depth:].strip())}</h{depth}>")
        elif block_kind == "table":
            blocks.append(_table_html(lines))
        elif block_kind == "list":
            blocks.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        elif block_kind == "paragraph":
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(blocks)


def _table_html(lines: list[str]) -> str:
    """A pipe table (header row, ``---`` row, body rows) as a sortable ``<table class="board">``."""

    def cells(line: str) -> list[str]:
        # "\|" is a pipe inside a cell (markdown._row escapes it)
        return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]

    header, body = cells(lines[0]), [cells(line) for line in lines[2:]]
    head = "".join(f"<th>{_inline(cell)}</th>" for cell in header)
    rows = "".join("<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in body)
    return f'<table class="board"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _inline(text: str) -> str:
    """Escaped text with ``**bold**`` and ```code``` spans."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _gallery_html(gallery: MapGallery) -> str:
    examples = gallery.examples
    names = sorted(key.removeprefix("map.") for key in examples if key.startswith("map."))
    head = "".join(f"<th>{html.escape(name)}</th>" for name in ["frame", "input", *names])
    rows = []
    for i, video_id in enumerate(examples["video_id"]):
        label = "live" if int(examples["label"][i]) == 1 else "spoof"
        tiles = [examples["image"][i], *(map_to_rgb(examples[f"map.{name}"][i]) for name in names)]
        images = "".join(
            f'<td><img class="tile" alt="{html.escape(f"{title}, {label}")}" src="{_data_uri(_png(tile))}"></td>'
            for title, tile in zip(["input", *names], tiles)
        )
        rows.append(f"<tr><td>{label}<br><small>{html.escape(str(video_id))}</small></td>{images}</tr>")
    caption = f"{html.escape(gallery.method)} on {html.escape(_protocol_title(gallery.protocol))}"
    return f'<h3>{caption}</h3>\n<table class="gallery"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def map_to_rgb(value: np.ndarray) -> np.ndarray:
    """A (C, h, w) predicted map as an (h, w, 3) uint8 image, by ``Algorithm.output_maps``' channel contract.

    One channel is grey over the fixed range [0, 1] (not stretched per map, so a
    spoof's flat map stays dark next to a live face's), three are RGB in [0, 1],
    more are class scores shown as the colour of the highest-scoring class.
    """
    from matplotlib import colormaps

    value = np.asarray(value, dtype=np.float32)
    if value.shape[0] == 1:
        rgb = np.repeat(np.clip(value, 0.0, 1.0), 3, axis=0).transpose(1, 2, 0)
    elif value.shape[0] == 3:
        rgb = np.clip(value, 0.0, 1.0).transpose(1, 2, 0)
    else:
        palette = np.asarray(colormaps["tab10"].colors, dtype=np.float32)  # (10, 3)
        rgb = palette[value.argmax(0) % len(palette)]
    return (rgb * 255).round().astype(np.uint8)


def _roc_png(protocol: str, curves: dict[str, tuple[np.ndarray, np.ndarray]], level: str) -> bytes:
    from dgfas.tracking.figures import roc_curves_figure

    figure = roc_curves_figure(curves, f"{_protocol_title(protocol)}: target test ({level} level)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _protocol_title(name: str) -> str:
    try:
        return get_protocol(name).title
    except DgfasError:
        # A protocol run from a file outside protocols/ has no registered title.
        return name
