"""ROC and DET figures of score sets, drawn without pyplot for a run's artifacts and the HTML leaderboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from dgfas.errors import DgfasError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def roc_det_figure(label: np.ndarray, score: np.ndarray, title: str) -> Figure:
    """ROC and DET curves of one score set side by side, for a run to log with ``log_figure``.

    The DET plot (ISO/IEC 30107-3's for presentation attack detection) draws
    BPCER against APCER on normal-deviate axes, where the low-error corner
    that separates methods is spread out instead of pressed into the ROC's
    top left. The title is wrapped to the figure's width, never clipped.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import norm
    from sklearn.metrics import det_curve

    label, score = _checked_scores(label, score, title, "")
    figure = Figure(figsize=(8.0, 4.4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    roc_axes, det_axes = figure.subplots(1, 2)
    _plot_roc(roc_axes, {"": (label, score)})
    # live (1) is the positive class: false positives are spoofs accepted, false negatives lives rejected
    spoofs_accepted, lives_rejected, _ = det_curve(label, score, pos_label=1)
    eps = np.finfo(np.float64).eps
    det_axes.plot(norm.ppf(np.clip(spoofs_accepted, eps, 1 - eps)), norm.ppf(np.clip(lives_rejected, eps, 1 - eps)))
    ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999])
    names = [f"{100 * tick:g}%" for tick in ticks]
    det_axes.set_xticks(norm.ppf(ticks), names, rotation=45)
    det_axes.set_yticks(norm.ppf(ticks), names)
    det_axes.set_xlim(-3, 3)
    det_axes.set_ylim(-3, 3)
    det_axes.set_xlabel("spoofs accepted (APCER)")
    det_axes.set_ylabel("live rejected (BPCER)")
    det_axes.set_title("DET")
    roc_axes.set_title("ROC")
    figure.suptitle(_wrapped(title, figure, "figure.titlesize"))
    return figure


def roc_curves_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str) -> Figure:
    """ROC curves of several score sets on one axes, each (label, score) under its name.

    The figure is built on the Agg canvas without pyplot, so it needs no display
    and leaves pyplot's global figure list alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.0, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _plot_roc(axes, {name: _checked_scores(label, score, title, name) for name, (label, score) in curves.items()})
    axes.set_title(_wrapped(title, figure, "axes.titlesize"))
    return figure


def _checked_scores(label: np.ndarray, score: np.ndarray, title: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    label = np.asarray(label).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    if set(np.unique(label).tolist()) != {0, 1}:
        raise DgfasError(f"ROC '{title}' needs both live (1) and spoof (0) labels{f' for {name}' if name else ''}")
    return label, score


def _plot_roc(axes: Any, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """ROC curves on ``axes``, each named with its AUC.

    Live (label 1) is the positive class and a higher score means more live, so the
    x axis is the rate of spoofs accepted (FAR, APCER) and the y axis the rate of live
    faces accepted (1 - FRR, 1 - BPCER).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    for name, (label, score) in curves.items():
        far, live_accept, _ = roc_curve(label, score, pos_label=1)
        auc = f"AUC = {100 * roc_auc_score(label, score):.2f}%"
        axes.plot(far, live_accept, label=f"{name} ({auc})" if name else auc)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("spoofs accepted (FAR)")
    axes.set_ylabel("live accepted (1 - FRR)")
    axes.legend(loc="lower right")


def _wrapped(title: str, figure: Figure, size: str) -> str:
    """``title`` broken into lines that fit the figure's width at the font size rcParams[``size``] names."""
    import textwrap

    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=rcParams[size]).get_size_in_points()
    characters = int(figure.get_figwidth() * 72 / (0.6 * points))  # an average glyph is about 0.6 em wide
    return "\n".join(textwrap.wrap(title, characters)) or title
