"""A summary of an ``overlapvae-audit --multirun`` sweep: the paper's Fig. 8 (one factor's perceived
matrix per job) and the rank correlation with ground truth against the swept value.

The swept value is the override that differs between jobs (e.g. ``dataset.grid_spacing``); a
loss's factor correlation for a job is the mean over factors of the within-traversal Spearman ρ,
undefined when any factor's is (a constant factor has no order to average).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from overlapvae.analysis.audit import RANDOM
from overlapvae.analysis.figures import correlation_figure, save_figure, sweep_matrix_figure
from overlapvae.utils.files import atomic_write_bytes
from overlapvae.utils.validation import InvalidInputError


def _parse(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def load_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """Every job's ``audit.json`` under ``sweep_dir``, with its overrides as a dict."""
    jobs = []
    for path in sorted(sweep_dir.glob("*/audit.json")):
        record = json.loads(path.read_text())
        record["override_values"] = dict(o.split("=", 1) for o in record.get("overrides", []) if "=" in o)
        record["job_dir"] = path.parent.name
        jobs.append(record)
    return jobs


def swept_key(jobs: list[dict[str, Any]]) -> str | None:
    """The one override whose value differs between jobs, if there is exactly one."""
    keys = {key for job in jobs for key in job["override_values"]}
    varying = [k for k in sorted(keys) if len({job["override_values"].get(k) for job in jobs}) > 1]
    return varying[0] if len(varying) == 1 else None


def mean_factor_correlation(job: dict[str, Any], loss: str) -> float | None:
    values = [r["rank_correlation"] for r in job["reports"] if r["loss"] == loss and r["factor"] != RANDOM]
    return None if not values or any(v is None for v in values) else float(np.mean(values))


def random_correlation(job: dict[str, Any], loss: str) -> float | None:
    return next(r["rank_correlation"] for r in job["reports"] if r["loss"] == loss and r["factor"] == RANDOM)


def summarise_sweep(sweep_dir: Path, factor: str | None = None) -> list[Path]:
    """Write ``sweep_matrices``, ``correlation_vs_<key>`` (PNG and PDF) and ``sweep_summary.csv``."""
    jobs = load_jobs(sweep_dir)
    if len(jobs) < 2:
        return []
    key = swept_key(jobs)
    if key is not None:
        jobs.sort(key=lambda job: _parse(job["override_values"][key]))
        labels = [f"{key.rsplit('.', 1)[-1]}={job['override_values'][key]}" for job in jobs]
        positions = [_parse(job["override_values"][key]) for job in jobs]
    else:
        labels = [job["job_dir"] for job in jobs]
        positions = list(range(len(jobs)))
    if not all(isinstance(p, float) for p in positions):
        positions = list(range(len(jobs)))
    losses = [loss for loss in jobs[0]["losses"] if all(loss in job["losses"] for job in jobs)]
    factor = factor or jobs[0]["factors"][0]
    if not all(factor in job["matrices"] for job in jobs):
        raise InvalidInputError(f"factor {factor!r} is not audited in every job of {sweep_dir}")
    matrices = {loss: [np.asarray(job["matrices"][factor][loss]) for job in jobs] for loss in losses}
    written = save_figure(
        sweep_matrix_figure(labels, matrices, factor, f"perceived distance along {factor}"),
        sweep_dir / "sweep_matrices",
    )
    series: dict[str, list[float | None]] = {}
    for loss in losses:
        series[f"{loss}: factors (mean ρ)"] = [mean_factor_correlation(job, loss) for job in jobs]
        series[f"{loss}: random pairs ρ"] = [random_correlation(job, loss) for job in jobs]
    name = (key or "job").replace(".", "_")
    written += save_figure(
        correlation_figure(
            positions, series, key or "job", "rank correlation of perceived with ground-truth distance"
        ),
        sweep_dir / f"correlation_vs_{name}",
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["job", key or "job", *series])
    for index, (job, label) in enumerate(zip(jobs, labels, strict=True)):
        cells = ["undefined" if values[index] is None else values[index] for values in series.values()]
        writer.writerow([job["job_dir"], label.split("=", 1)[-1], *cells])
    atomic_write_bytes(sweep_dir / "sweep_summary.csv", buffer.getvalue().encode())
    return [*written, sweep_dir / "sweep_summary.csv"]
