"""A summary of an ``overlapvae-audit --multirun`` sweep: the paper's Fig. 8 (one factor's perceived
matrix per job) and the rank correlation with ground truth against the swept value.

The swept value is the override that differs between jobs (e.g. ``dataset.grid_spacing``, found as
a training sweep's axes are, by ``swept_columns``); a loss's factor correlation for a job is the mean
over factors of the within-traversal Spearman ρ, undefined when any factor's is (a constant factor
has no order to average).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from overlapvae.analysis.audit import RANDOM
from overlapvae.results.figures import correlation_figure, save_figure, sweep_matrix_figure
from overlapvae.results.tables import override_columns, swept_columns
from overlapvae.runs.record import AuditSummary
from overlapvae.utils.files import atomic_write_bytes
from overlapvae.utils.validation import InvalidInputError


def mean_factor_correlation(job: AuditSummary, loss: str) -> float | None:
    values = [r.rank_correlation for r in job.reports if r.loss == loss and r.factor != RANDOM]
    return None if not values or any(v is None for v in values) else float(np.mean(values))


def random_correlation(job: AuditSummary, loss: str) -> float | None:
    return next(r.rank_correlation for r in job.reports if r.loss == loss and r.factor == RANDOM)


def summarise_sweep(sweep_dir: Path, factor: str | None = None) -> list[Path]:
    """Write ``sweep_matrices``, ``correlation_vs_<key>`` (PNG and PDF) and ``sweep_summary.csv``."""
    # every job's audit.json, by job dir name, in name order
    records = {path.parent.name: AuditSummary.read(path) for path in sorted(sweep_dir.glob("*/audit.json"))}
    if len(records) < 2:
        return []
    values = {name: override_columns(record.overrides) for name, record in records.items()}
    swept = swept_columns(pd.DataFrame(list(values.values())))
    key = swept[0] if len(swept) == 1 else None
    names, labels = list(records), list(records)
    positions: list[float] = list(range(len(names)))
    if key is not None:
        numeric = all(isinstance(value.get(key), int | float) for value in values.values())
        names.sort(key=lambda name: values[name].get(key) if numeric else str(values[name].get(key)))
        labels = [f"{key.rsplit('.', 1)[-1]}={values[name].get(key)}" for name in names]
        positions = [values[name][key] for name in names] if numeric else positions
    jobs = [records[name] for name in names]
    losses = [loss for loss in jobs[0].losses if all(loss in job.losses for job in jobs)]
    factor = factor or jobs[0].factors[0]
    if not all(factor in job.matrices for job in jobs):
        raise InvalidInputError(f"factor {factor!r} is not audited in every job of {sweep_dir}")
    matrices = {loss: [np.asarray(job.matrices[factor][loss]) for job in jobs] for loss in losses}
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
    for index, (job_dir, label) in enumerate(zip(names, labels, strict=True)):
        cells = ["undefined" if column[index] is None else column[index] for column in series.values()]
        writer.writerow([job_dir, label.split("=", 1)[-1], *cells])
    atomic_write_bytes(sweep_dir / "sweep_summary.csv", buffer.getvalue().encode())
    return [*written, sweep_dir / "sweep_summary.csv"]
