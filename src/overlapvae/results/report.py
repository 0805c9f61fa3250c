"""Reports of a training sweep: ``collect`` writes ``results.csv``, a Markdown summary (mean ± std over
seeds per setting, each setting's run health, the runs left out as collapsed and every run that did
not complete, with its error and run dir) and comparison plots into the sweep dir; ``sweep_report``
is the plain-text account printed when a sweep ends (which jobs failed, how to upload offline wandb
runs, how to collect). A collapsed run (its reconstructions no better than the loss's best constant
image) is drawn as a red cross and left out of every mean, box and trend."""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from overlapvae.results.figures import comparison_figure, save_figure, trend_figure, violin_figure
from overlapvae.results.tables import aggregate, collapsed_runs, load_sweep, metric_columns, swept_columns
from overlapvae.utils.files import atomic_write_bytes


def sweep_report(sweep_dir: Path) -> str:
    """A plain-text report of every run dir under ``sweep_dir``."""
    frame = load_sweep(sweep_dir)
    counts = frame["status"].value_counts().to_dict()
    lines = [
        f"sweep {sweep_dir}: {len(frame)} runs, " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ]
    for row in frame[frame["status"] != "completed"].to_dict("records"):
        error = " ".join(str(row["error"]).split())[:300] if row["error"] else "no error recorded"
        log = f" and the job's log {row['log']}" if row.get("log") else ""
        lines.append(f"  {row['status']}: {row['run']} ({error}); see {row['path']}/metrics.json{log}")
    offline = sorted(sweep_dir.glob("*/wandb/offline-run-*"))
    if offline:
        lines.append(
            f"upload the {len(offline)} offline wandb runs with: "
            f"wandb sync {shlex.quote(str(sweep_dir))}/*/wandb/offline-run-*"
        )
    lines.append(f"collect the results with: overlapvae-collect {shlex.quote(str(sweep_dir))}")
    return "\n".join(lines)


#: The scores the paper plots, compared first; others are in results.csv.
HEADLINE_SCORES = ("mig.discrete_mig", "dci.disentanglement")


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


def paper_figures(frame: pd.DataFrame, metric: str, output_dir: Path) -> dict[str, Path]:
    """Trend against spacing when spacing is swept; violins split by loss and by framework when swept."""
    swept = swept_columns(frame)
    stem = metric.replace("/", "_")
    written = {}
    if "dataset.grid_spacing" in swept:
        figure = trend_figure(frame, metric)
        written[f"trend {metric}"] = save_figure(figure, output_dir / f"trend_{stem}", formats=("png",))[0]
    for split in ("loss", "framework"):
        if split in swept:
            figure, path = violin_figure(frame, metric, split), output_dir / f"violin_{split}_{stem}"
            written[f"violin {split} {metric}"] = save_figure(figure, path, formats=("png",))[0]
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
