"""Every figure the project draws. In the style of the paper: traversal distance matrices (Figs. 3
and 8), the distances of a trained model (Figs. 4 and 10), a sweep's correlation against a swept
value, scores against spacing (Fig. 9) and by loss or framework (Figs. 6 and 11); and the boxes of a
sweep's comparison, a learnt kernel, and the image grids of reconstructions and traversals.

Every panel is an ``imshow`` on its own colour scale (its own min and max), as in the paper:
ground truth in ``Blues``, perceived distances in ``Purples``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib import image as mpl_image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from overlapvae.results.tables import collapsed_runs, swept_columns
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


def kernel_figure(kernel: Tensor, title: str) -> Figure:
    """A learnt kernel as an image beside its centre row."""
    figure = Figure(figsize=(7.0, 3.2), layout="constrained")
    image, row = figure.subplots(1, 2)
    shown = image.imshow(kernel.numpy(), cmap="Purples")
    figure.colorbar(shown, ax=image)
    image.set_title("kernel", fontsize=9)
    row.plot(range(-(kernel.shape[0] // 2), kernel.shape[0] // 2 + 1), kernel[kernel.shape[0] // 2].numpy())
    row.set_title("centre row", fontsize=9)
    figure.suptitle(title, fontsize=10)
    return figure


def scored_runs(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The completed runs that have a value for ``metric``: what every figure draws (the collapsed
    ones as red crosses, left out of every summary)."""
    return frame[(frame["status"] == "completed") & frame[metric].notna()]


def split_collapsed(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(healthy, collapsed)`` rows."""
    flagged = collapsed_runs(rows)
    return rows[~flagged], rows[flagged]


def mark_collapsed(axis: Axes, xs: np.ndarray, ys: np.ndarray) -> None:
    """Collapsed runs on a figure: red crosses, never summarised."""
    axis.scatter(xs, ys, s=30, marker="x", color="red", zorder=4)


def legend_collapsed(axis: Axes, runs: pd.DataFrame) -> None:
    """A legend entry for the crosses, where any run collapsed."""
    if collapsed_runs(runs).any():
        axis.scatter([], [], s=30, marker="x", color="red", label="collapsed (left out)")


def comparison_figure(frame: pd.DataFrame, metric: str) -> Figure:
    """One panel per swept setting: a box per value over the runs that did not collapse, every run
    as a point (collapsed ones as red crosses); with ``loss`` swept, each box of the overlap axis
    is split by loss (L1 against MSE side by side)."""
    runs = scored_runs(frame, metric)
    axes_names = swept_columns(frame)
    figure = Figure(figsize=(4.2 * max(1, len(axes_names)), 3.6), layout="constrained")
    panels = figure.subplots(1, max(1, len(axes_names)), squeeze=False)[0]
    rng = np.random.default_rng(0)  # jitter only
    for panel, axis in zip(panels, axes_names or ["sweep"], strict=False):
        split = "loss" if axis != "loss" and "loss" in axes_names else None
        values = sorted(runs[axis].dropna().unique().tolist(), key=str) if axis in runs else ["all"]
        hues = sorted(runs[split].unique().tolist(), key=str) if split else [None]
        width = 0.8 / len(hues)
        for h, hue in enumerate(hues):
            colour = f"C{h}"
            for v, value in enumerate(values):
                rows = runs[runs[axis] == value] if axis in runs else runs
                if hue is not None:
                    rows = rows[rows[split] == hue]
                position = v + (h - (len(hues) - 1) / 2) * width
                healthy, collapsed = (part[metric].to_numpy(dtype=float) for part in split_collapsed(rows))
                if len(healthy):
                    boxes = panel.boxplot(
                        [healthy],
                        positions=[position],
                        widths=width * 0.8,
                        patch_artist=True,
                        medianprops={"color": "black"},
                    )
                    boxes["boxes"][0].set(facecolor=colour, alpha=0.35)
                jitter = rng.uniform(-width / 6, width / 6, len(healthy) + len(collapsed))
                panel.scatter(position + jitter[: len(healthy)], healthy, s=12, color=colour, zorder=3)
                mark_collapsed(panel, position + jitter[len(healthy) :], collapsed)
            if hue is not None:
                panel.plot([], [], color=colour, lw=6, alpha=0.5, label=f"{split}={hue}")
        legend_collapsed(panel, runs)
        panel.set_xticks(range(len(values)), [str(v) for v in values])
        panel.set_xlabel(axis)
        panel.set_ylabel(metric)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=8)
    left_out = int(collapsed_runs(runs).sum())
    figure.suptitle(f"{metric}: {len(runs) - left_out} runs, {left_out} collapsed (crosses, left out)")
    return figure


def trend_figure(frame: pd.DataFrame, metric: str, x: str = "dataset.grid_spacing") -> Figure:
    """The paper's Fig. 9 style: every run as a point against ``x``, one colour per framework (and
    loss, when swept), with a least-squares polynomial trend over the runs that did not collapse
    (order 4, or lower when there are fewer distinct x values); collapsed runs as red crosses."""
    runs = scored_runs(frame, metric)
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    axis = figure.subplots()
    keys = [key for key in ("framework", "loss") if key in swept_columns(frame)] or ["framework"]
    groups = runs.groupby(keys) if keys[0] in runs else [("runs", runs)]
    for index, (name, rows) in enumerate(groups):
        name = " ".join(map(str, name)) if isinstance(name, tuple) else name
        healthy, collapsed = split_collapsed(rows)
        xs, ys = healthy[x].to_numpy(dtype=float), healthy[metric].to_numpy(dtype=float)
        axis.scatter(xs, ys, s=14, color=f"C{index}", label=str(name))
        mark_collapsed(axis, collapsed[x].to_numpy(dtype=float), collapsed[metric].to_numpy(dtype=float))
        order = min(4, len(np.unique(xs)) - 1)
        if order >= 1:
            grid = np.linspace(xs.min(), xs.max(), 100)
            axis.plot(grid, np.polyval(np.polyfit(xs, ys, order), grid), color=f"C{index}")
    legend_collapsed(axis, runs)
    axis.set_xlabel(x)
    axis.set_ylabel(metric)
    axis.legend(fontsize=8)
    figure.suptitle(f"{metric} against {x}")
    return figure


def violin_figure(frame: pd.DataFrame, metric: str, split: str) -> Figure:
    """The paper's Figs. 6/11 style: per data set a violin per value of ``split`` (loss or
    framework) over the runs that did not collapse, each run's value as a point (collapsed ones as
    red crosses)."""
    runs = scored_runs(frame, metric)
    datasets = sorted(runs["dataset"].unique(), key=str) if "dataset" in runs else ["all"]
    values = sorted(runs[split].unique(), key=str)
    figure = Figure(figsize=(2.2 + 1.6 * len(datasets) * len(values), 3.8), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / len(values)
    for v, value in enumerate(values):
        for d, dataset in enumerate(datasets):
            rows = runs[runs[split] == value]
            if "dataset" in runs:
                rows = rows[rows["dataset"] == dataset]
            healthy, collapsed = (part[metric].to_numpy(dtype=float) for part in split_collapsed(rows))
            position = d + (v - (len(values) - 1) / 2) * width
            if len(healthy) > 1:
                body = axis.violinplot(healthy, [position], widths=width * 0.9, showmedians=True)
                for part in body["bodies"]:
                    part.set(facecolor=f"C{v}", alpha=0.4)
            axis.scatter(np.full(len(healthy), position), healthy, s=10, color=f"C{v}", zorder=3)
            mark_collapsed(axis, np.full(len(collapsed), position), collapsed)
        axis.plot([], [], color=f"C{v}", lw=6, alpha=0.5, label=f"{split}={value}")
    legend_collapsed(axis, runs)
    axis.set_xticks(range(len(datasets)), [str(d) for d in datasets])
    axis.set_ylabel(metric)
    axis.legend(fontsize=8)
    figure.suptitle(f"{metric} by {split}")
    return figure


def image_grid(images: Tensor, columns: int, padding: int = 2) -> Tensor:
    """Tile ``[N, C, H, W]`` images in [0, 1] into one ``[H', W', 3]`` image, row by row."""
    count, channels, height, width = images.shape
    if channels == 1:
        images = images.expand(-1, 3, -1, -1)
    rows = -(-count // columns)
    grid = torch.ones(3, rows * (height + padding) + padding, columns * (width + padding) + padding)
    for index in range(count):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[:, top : top + height, left : left + width] = images[index]
    return grid.permute(1, 2, 0)


def png_bytes(image: np.ndarray) -> bytes:
    """An ``[H, W, 3]`` array in [0, 1] encoded as PNG."""
    buffer = io.BytesIO()
    mpl_image.imsave(buffer, image, format="png")
    return buffer.getvalue()
