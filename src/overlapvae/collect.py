"""``overlapvae-collect``: a sweep's runs as ``results.csv``, a Markdown summary (mean ± std over
seeds per setting, and every run that did not complete, with its error and run dir) and
comparison plots, written into the sweep dir.

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
from matplotlib.figure import Figure

from overlapvae.analysis.figures import save_figure
from overlapvae.results import aggregate, load_sweep, load_wandb, metric_columns, swept_columns
from overlapvae.utils.files import atomic_write_bytes

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


def markdown_summary(frame: pd.DataFrame, metrics: Sequence[str]) -> str:
    """Mean ± std over seeds per setting, then the runs that did not complete."""
    axes = swept_columns(frame)
    table = aggregate(frame, axes, metrics)
    header = [*axes, *metrics]
    lines = [
        f"# {frame['sweep'].dropna().iloc[0] if frame['sweep'].notna().any() else 'sweep'}",
        "",
        f"{(frame['status'] == 'completed').sum()} of {len(frame)} runs completed.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in table.to_dict("records"):  # records keep each column's type (iterrows would upcast)
        cells = [str(row[axis]) for axis in axes]
        cells += [_format(row[f"{m} mean"], row[f"{m} std"], int(row[f"{m} count"])) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
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
    """The completed runs that have a value for ``metric``: what every figure draws."""
    return frame[(frame["status"] == "completed") & frame[metric].notna()]


def comparison_figure(frame: pd.DataFrame, metric: str) -> Figure:
    """One panel per swept setting: a box per value with every run as a point; with ``loss``
    swept, each box of the overlap axis is split by loss (L1 against MSE side by side)."""
    done = scored_runs(frame, metric)
    axes_names = swept_columns(frame)
    figure = Figure(figsize=(4.2 * max(1, len(axes_names)), 3.6), layout="constrained")
    panels = figure.subplots(1, max(1, len(axes_names)), squeeze=False)[0]
    rng = np.random.default_rng(0)  # jitter only
    for panel, axis in zip(panels, axes_names or ["sweep"], strict=False):
        split = "loss" if axis != "loss" and "loss" in axes_names else None
        values = sorted(done[axis].dropna().unique().tolist(), key=str) if axis in done else ["all"]
        hues = sorted(done[split].unique().tolist(), key=str) if split else [None]
        width = 0.8 / len(hues)
        for h, hue in enumerate(hues):
            positions, groups = [], []
            for v, value in enumerate(values):
                rows = done[done[axis] == value] if axis in done else done
                if hue is not None:
                    rows = rows[rows[split] == hue]
                positions.append(v + (h - (len(hues) - 1) / 2) * width)
                groups.append(rows[metric].to_numpy(dtype=float))
            kept = [(p, g) for p, g in zip(positions, groups, strict=True) if len(g)]
            if not kept:
                continue
            boxes = panel.boxplot(
                [g for _, g in kept],
                positions=[p for p, _ in kept],
                widths=width * 0.8,
                patch_artist=True,
                medianprops={"color": "black"},
            )
            colour = f"C{h}"
            for box in boxes["boxes"]:
                box.set(facecolor=colour, alpha=0.35)
            for p, g in kept:
                panel.scatter(p + rng.uniform(-width / 6, width / 6, len(g)), g, s=12, color=colour, zorder=3)
            if hue is not None:
                panel.plot([], [], color=colour, lw=6, alpha=0.5, label=f"{split}={hue}")
        panel.set_xticks(range(len(values)), [str(v) for v in values])
        panel.set_xlabel(axis)
        panel.set_ylabel(metric)
        if split:
            panel.legend(fontsize=8)
    figure.suptitle(f"{metric} over {len(done)} completed runs")
    return figure


def trend_figure(frame: pd.DataFrame, metric: str, x: str = "dataset.grid_spacing") -> Figure:
    """The paper's Fig. 9 style: every run as a point against ``x``, one colour per framework (and
    loss, when swept), with a least-squares polynomial trend (order 4, or lower when there are
    fewer distinct x values)."""
    done = scored_runs(frame, metric)
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    axis = figure.subplots()
    keys = [key for key in ("framework", "loss") if key in swept_columns(frame)] or ["framework"]
    groups = done.groupby(keys) if keys[0] in done else [("runs", done)]
    for index, (name, rows) in enumerate(groups):
        name = " ".join(map(str, name)) if isinstance(name, tuple) else name
        xs, ys = rows[x].to_numpy(dtype=float), rows[metric].to_numpy(dtype=float)
        axis.scatter(xs, ys, s=14, color=f"C{index}", label=str(name))
        order = min(4, len(np.unique(xs)) - 1)
        if order >= 1:
            grid = np.linspace(xs.min(), xs.max(), 100)
            axis.plot(grid, np.polyval(np.polyfit(xs, ys, order), grid), color=f"C{index}")
    axis.set_xlabel(x)
    axis.set_ylabel(metric)
    axis.legend(fontsize=8)
    figure.suptitle(f"{metric} against {x}")
    return figure


def violin_figure(frame: pd.DataFrame, metric: str, split: str) -> Figure:
    """The paper's Figs. 6/11 style: per data set a violin per value of ``split`` (loss or
    framework) over the completed runs, with each run's value as a point."""
    done = scored_runs(frame, metric)
    datasets = sorted(done["dataset"].unique(), key=str) if "dataset" in done else ["all"]
    values = sorted(done[split].unique(), key=str)
    figure = Figure(figsize=(2.2 + 1.6 * len(datasets) * len(values), 3.8), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / len(values)
    for v, value in enumerate(values):
        for d, dataset in enumerate(datasets):
            rows = done[done[split] == value]
            if "dataset" in done:
                rows = rows[rows["dataset"] == dataset]
            points = rows[metric].to_numpy(dtype=float)
            position = d + (v - (len(values) - 1) / 2) * width
            if len(points) > 1:
                body = axis.violinplot(points, [position], widths=width * 0.9, showmedians=True)
                for part in body["bodies"]:
                    part.set(facecolor=f"C{v}", alpha=0.4)
            axis.scatter(np.full(len(points), position), points, s=10, color=f"C{v}", zorder=3)
        axis.plot([], [], color=f"C{v}", lw=6, alpha=0.5, label=f"{split}={value}")
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
    except (FileNotFoundError, KeyError, LookupError) as error:
        sys.exit(f"error: {error.args[0] if error.args else error}")
    print(markdown_summary(frame, list(options.metrics or headline_metrics(frame))))
    for name, path in written.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
