"""Figures in the style of the paper: traversal distance matrices (Figs. 3 and 8), the distances
of a trained model (Figs. 4 and 10) and a sweep's correlation against a swept value.

Every panel is an ``imshow`` on its own colour scale (its own min and max), as in the paper:
ground truth in ``Blues``, perceived distances in ``Purples``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from overlapvae.utils.files import atomic_write_bytes

PANEL_INCHES = 1.6


def _matrix_grid(
    rows: Sequence[tuple[str, str, Sequence[np.ndarray]]], column_titles: Sequence[str], title: str
) -> Figure:
    """``rows`` of ``(label, colour map, matrices)``, one panel per matrix, each on its own scale."""
    figure = Figure(
        figsize=(PANEL_INCHES * len(column_titles) + 0.6, PANEL_INCHES * len(rows) + 0.5),
        layout="constrained",
    )
    axes = figure.subplots(len(rows), len(column_titles), squeeze=False)
    for row, (label, colour_map, matrices) in enumerate(rows):
        for column, matrix in enumerate(matrices):
            axis = axes[row, column]
            axis.imshow(np.asarray(matrix), cmap=colour_map)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(column_titles[column], fontsize=9)
            if column == 0:
                axis.set_ylabel(label, fontsize=9)
    figure.suptitle(title, fontsize=10)
    return figure


def traversal_matrix_figure(
    matrices: Mapping[str, Mapping[str, np.ndarray]], losses: Sequence[str], title: str
) -> Figure:
    """Figs. 3/8: a row of ground-truth matrices, then a row of perceived matrices per loss,
    one column per factor (``matrices[factor]["ground_truth" | loss]``)."""
    factors = list(matrices)
    rows = [("ground truth", "Blues", [matrices[f]["ground_truth"] for f in factors])]
    rows += [(loss, "Purples", [matrices[f][loss] for f in factors]) for loss in losses]
    return _matrix_grid(rows, factors, title)


def model_distance_figure(
    matrices: Mapping[str, Mapping[str, Tensor]], model: str, step: int | None
) -> Figure:
    """Figs. 4/10 for ``model`` at training ``step``: one row per factor, one column per distance
    (factors, x, z, kl, x_recon), from :func:`model_distance_matrices`' tensors on any device."""
    factors = list(matrices)
    columns = list(matrices[factors[0]])
    rows = [(f, "Blues", [matrices[f][c].cpu().numpy() for c in columns]) for f in factors]
    return _matrix_grid(rows, columns, f"{model} at step {step}: distances")


def sweep_matrix_figure(
    labels: Sequence[str], matrices: Mapping[str, Sequence[np.ndarray]], factor: str, title: str
) -> Figure:
    """Fig. 8: one factor's perceived matrix per job (columns), one row per loss."""
    rows = [(f"{loss}: {factor}", "Purples", list(values)) for loss, values in matrices.items()]
    return _matrix_grid(rows, labels, title)


def correlation_figure(
    x: Sequence[float], series: Mapping[str, Sequence[float | None]], x_label: str, title: str
) -> Figure:
    """Correlations against a swept value; undefined points are drawn as crosses on the zero line."""
    figure = Figure(figsize=(6.0, 3.6), layout="constrained")
    axis = figure.subplots()
    positions = np.asarray(x, dtype=float)
    for label, values in series.items():
        defined = np.array([v is not None for v in values])
        numbers = np.array([np.nan if v is None else v for v in values], dtype=float)
        (line,) = axis.plot(positions, numbers, marker="o", label=label)
        if not defined.all():
            axis.scatter(positions[~defined], np.zeros((~defined).sum()), marker="x", color=line.get_color())
    axis.set_xlabel(x_label)
    axis.set_ylabel("correlation with ground-truth distance")
    axis.set_title(title, fontsize=10)
    axis.axhline(0.0, color="grey", linewidth=0.5)
    axis.legend(fontsize=8)
    return figure


def save_figure(
    figure: Figure, path_without_suffix: str | Path, formats: Sequence[str] = ("png", "pdf")
) -> list[Path]:
    """Write ``figure`` atomically in each format; returns the paths."""
    paths = []
    for suffix in formats:
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix, dpi=150)
        path = Path(f"{path_without_suffix}.{suffix}")
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    return paths


def figure_array(figure: Figure) -> np.ndarray:
    """The rendered figure as an ``uint8 [H, W, 3]`` array (for loggers' image panels)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
