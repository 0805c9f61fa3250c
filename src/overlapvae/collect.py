"""``overlapvae-collect``: a sweep's runs as ``results.csv``, a Markdown summary (mean ± std over
seeds per setting, each setting's run health, the runs left out as collapsed and every run that did
not complete, with its error and run dir) and comparison plots, written into the sweep dir. A
collapsed run (its reconstructions no better than the loss's best constant image) is drawn as a red
cross and left out of every mean, box and trend.

Run: ``overlapvae-collect logs/train/sweeps/<sweep>`` or, from a wandb project,
``overlapvae-collect <out dir> --wandb <entity/project> --group <sweep>``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from overlapvae.analysis.figures import save_figure
from overlapvae.results import (
    aggregate,
    collapsed_runs,
    load_sweep,
    load_wandb,
    metric_columns,
    swept_columns,
)
from overlapvae.utils.files import atomic_write_bytes
from overlapvae.utils.validation import InvalidInputError

#: The scores the paper plots, compared first; others are in results.csv.
HEADLINE_SCORES = ("mig.discrete_mig", "dci.disentanglement")
#: Swept settings drawn as the x axis before others: the overlap axis, then the data set.
OVERLAP_AXES = ("dataset.grid_spacing", "dataset", "framework")


def headline_metrics(frame: pd.DataFrame) -> list[str]:
    """``final/`` and ``max/`` of the headline scores that the runs have (else every metric)."""
    wanted = [f"{prefix}/{score}" for score in HEADLINE_SCORES for prefix in ("max", "final")]
    present = [metric for metric in wanted if metric in frame]
    return present or metric_columns(frame)


def _format(mean: float, std: float, count: int) -> str:
    if count == 0 or math.isnan(mean):
        return "–"
    spread = "" if count < 2 or math.isnan(std) else f" ± {std:.3f}"
    return f"{mean:.3f}{spread} (n={count})"


def _health(row: dict) -> str:
    """A setting's run health: ``ok``, or how many of its completed runs collapsed."""
    if row["completed"] == 0:
        return "–"
    return "ok" if row["collapsed"] == 0 else f"{row['collapsed']} of {row['completed']} collapsed"


def markdown_summary(frame: pd.DataFrame, metrics: Sequence[str]) -> str:
    """Mean ± std over seeds per setting (collapsed runs left out and counted), with each setting's
    reconstruction scale and mean reconstruction error over the constant image's; then the
    collapsed runs and the runs that did not complete."""
    axes = swept_columns(frame)
    table = aggregate(frame, axes, metrics)
    described = {"recon_scale": "recon scale", "health/ratio": "recon / constant"}
    extras = [column for column in described if column in frame]
    every_run = aggregate(frame, axes, extras, leave_out_collapsed=False) if extras else None
    header = [*axes, *metrics, "health", *(described[column] for column in extras)]
    collapsed = frame[(frame["status"] == "completed") & collapsed_runs(frame)]
    lines = [
        f"# {frame['sweep'].dropna().iloc[0] if frame['sweep'].notna().any() else 'sweep'}",
        "",
        f"{(frame['status'] == 'completed').sum()} of {len(frame)} runs completed"
        + (f"; {len(collapsed)} collapsed, left out of the means." if len(collapsed) else "."),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for index, row in enumerate(table.to_dict("records")):  # records keep each column's type
        cells = [str(row[axis]) for axis in axes]
        cells += [_format(row[f"{m} mean"], row[f"{m} std"], int(row[f"{m} count"])) for m in metrics]
        cells.append(_health(row))
        for column in extras:  # means over every completed run of the setting, collapsed or not
            mean = every_run.iloc[index][f"{column} mean"]
            cells.append("–" if math.isnan(mean) else f"{mean:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    if len(collapsed):
        lines += [
            "",
            "## Collapsed runs (left out of the means)",
            "",
            "Their reconstructions were no better than the loss's best constant image, so their scores "
            "measure a model that learnt nothing.",
            "",
            "| run | " + " | ".join(axes) + " | recon / constant | run dir |",
            "|---|" + "---|" * len(axes) + "---|---|",
        ]
        for row in collapsed.to_dict("records"):
            settings = " | ".join(str(row[axis]) for axis in axes)
            ratio = row.get("health/ratio", float("nan"))
            lines.append(f"| {row['run']} | {settings} | {ratio:.3f} | {row['path']} |")
    unfinished = frame[frame["status"] != "completed"]
    if len(unfinished):
        lines += [
            "",
            "## Runs that did not complete",
            "",
            "| run | status | error | run dir |",
            "|---|---|---|---|",
        ]
        for row in unfinished.to_dict("records"):
            error = str(row["error"]).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {row['run']} | {row['status']} | {error} | {row['path']} |")
    return "\n".join(lines) + "\n"


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


def paper_figures(frame: pd.DataFrame, metric: str, output_dir: Path) -> dict[str, Path]:
    """Trend against spacing when spacing is swept; violins split by loss and by framework when swept."""
    swept = swept_columns(frame)
    stem = metric.replace("/", "_")
    written = {}
    if "dataset.grid_spacing" in swept:
        path = output_dir / f"trend_{stem}"
        written[f"trend {metric}"] = save_figure(trend_figure(frame, metric), path, formats=("png",))[0]
    for split in ("loss", "framework"):
        if split in swept:
            path = output_dir / f"violin_{split}_{stem}"
            written[f"violin {split} {metric}"] = save_figure(
                violin_figure(frame, metric, split), path, formats=("png",)
            )[0]
    return written


def collect(frame: pd.DataFrame, output_dir: Path, metrics: Sequence[str] | None = None) -> dict[str, Path]:
    """Write results.csv, results.md, ``compare_<metric>.png`` and the paper-style figures
    (``trend_*``, ``violin_*``) into ``output_dir``."""
    metrics = list(metrics or headline_metrics(frame))
    missing = [metric for metric in metrics if metric not in frame]
    if missing:
        raise KeyError(
            f"no runs have {', '.join(missing)}; the metrics are: {', '.join(metric_columns(frame))}"
        )
    written = {"csv": output_dir / "results.csv", "markdown": output_dir / "results.md"}
    atomic_write_bytes(written["csv"], frame.to_csv(index=False).encode())
    atomic_write_bytes(written["markdown"], markdown_summary(frame, metrics).encode())
    if frame["status"].eq("completed").any():
        for metric in metrics:
            stem = output_dir / f"compare_{metric.replace('/', '_')}"
            written[metric] = save_figure(comparison_figure(frame, metric), stem, formats=("png",))[0]
            written.update(paper_figures(frame, metric, output_dir))
    return written


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="overlapvae-collect", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="the sweep dir (read, and written into)")
    parser.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read the runs from wandb instead")
    parser.add_argument("--group", help="with --wandb: only this sweep (the wandb group)")
    parser.add_argument("--metrics", nargs="+", help="columns to compare (default: MIG and DCI)")
    options = parser.parse_args(arguments)
    try:
        if options.wandb:
            frame = load_wandb(options.wandb, group=options.group)
        else:
            frame = load_sweep(options.sweep_dir)
        written = collect(frame, options.sweep_dir, options.metrics)
    except (InvalidInputError, FileNotFoundError, KeyError, LookupError) as error:
        sys.exit(f"error: {error.args[0] if error.args else error}")
    print(markdown_summary(frame, list(options.metrics or headline_metrics(frame))))
    for name, path in written.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
