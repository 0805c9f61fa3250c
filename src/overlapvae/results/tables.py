"""One tidy table of a sweep's runs, from its run dirs or from a wandb project.

A row per run. Columns: ``run``, ``sweep``, ``status``, ``error``, ``steps``, ``seed``, ``path``,
``log`` and ``collapsed`` (the run health check: the reconstructions were no better than the loss's
best constant image; ``None`` where the run has no check); the option of each config group (``loss``,
``framework``, ``dataset``, ...); every override key (``dataset.grid_spacing``, ``framework.beta``,
...), a few settings worth plotting against (``SETTINGS``) and ``recon_scale`` (the weight the
reconstruction term trained with, measured on the data for ``match_scale`` losses); then the
numbers: ``final/<score>`` (the final reference evaluation), ``max/<score>`` (the maximum of the
periodic evaluations over training, what the paper plotted), ``loss/<name>`` (the last running means
of the training losses) and ``health/ratio`` (reconstruction error over the constant image's). The
same names come out of ``load_sweep`` and ``load_wandb``, so analysis code does not care where a
sweep ran. Means over seeds (``aggregate``) leave collapsed runs out and count them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from overlapvae.runs.record import Disentanglement, RunSummary
from overlapvae.utils.validation import MissingInputError

#: Config values copied into every row (when the run's config has them), whether swept or not.
SETTINGS = (
    "dataset.grid_spacing",
    "framework.beta",
    "model.latent_size",
    "datamodule.batch_size",
    "trainer.max_steps",
)
SCORE_PREFIXES = ("final/", "max/", "loss/", "health/")
RUN_COLUMNS = ("run", "sweep", "status", "error", "steps", "seed", "path", "log", "collapsed")


def _parse_value(text: str) -> Any:
    """An override's value as Hydra would type it (``8`` → 8, ``0.001`` → 0.001, ``l1`` → "l1")."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def override_columns(overrides: Iterable[str]) -> dict[str, Any]:
    """``["loss=l1", "dataset.grid_spacing=4"]`` → ``{"loss": "l1", "dataset.grid_spacing": 4}``."""
    pairs = (override.partition("=") for override in overrides)
    return {key.lstrip("+~"): _parse_value(value) for key, separator, value in pairs if separator}


def score_columns(summary: RunSummary) -> dict[str, float]:
    """The numbers of a run record: final scores, maxima over training, last losses, health ratio."""
    scores = summary.disentanglement or Disentanglement(final=None)
    columns = {f"final/{key}": value for key, value in (scores.final or {}).items()}
    columns.update({f"max/{key}": value for key, value in scores.periodic_max.items()})
    columns.update({f"loss/{key.removeprefix('train/')}": value for key, value in summary.final.items()})
    if summary.health is not None and summary.health.ratio is not None:
        columns["health/ratio"] = summary.health.ratio
    return columns


def _row(run: str, path: str, summary: RunSummary, settings: dict[str, Any]) -> dict[str, Any]:
    """A run's row from its record, with the config ``settings`` (and its seed, where the record has none)."""
    row: dict[str, Any] = {
        "run": run,
        "sweep": summary.sweep,
        "status": summary.status,
        "error": summary.error,
        "steps": summary.steps,
        "seed": settings.get("seed") if summary.seed is None else summary.seed,
        "path": path,
        "log": summary.scheduler and summary.scheduler.log,
        "collapsed": summary.health and summary.health.collapsed,
    }
    row.update(summary.choices)
    extra = {"recon_scale": summary.hyperparameters.get("recon_scale"), **settings}
    row.update({key: value for key, value in extra.items() if key != "seed" and value is not None})
    row.update(override_columns(summary.overrides))
    row.update(score_columns(summary))
    return row


def run_dirs(sweep_dir: str | Path) -> list[Path]:
    """Every job directory of a sweep (one holding ``.hydra/overrides.yaml``), sorted."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise MissingInputError(
            f"{sweep_dir} is not a directory: pass a sweep dir, e.g. logs/train/sweeps/<name>"
        )
    return sorted(path.parent.parent for path in sweep_dir.glob("**/.hydra/overrides.yaml"))


def _saved_settings(config_path: Path) -> dict[str, Any]:
    """``SETTINGS`` and the seed from a run's saved (unresolved) config, interpolations resolved."""
    if not config_path.exists():
        return {}
    config = OmegaConf.load(config_path)
    # an interpolation that only resolves inside a running job reads as None
    keys = ("seed", "sweep_name", *SETTINGS)
    return {
        key: OmegaConf.select(config, key, default=None, throw_on_resolution_failure=False) for key in keys
    }


def load_run(run_dir: Path, sweep_dir: Path) -> dict[str, Any]:
    """One run dir's row. A missing or unreadable ``metrics.json`` gives status ``missing`` or
    ``corrupt`` with the reason in ``error``: the run is listed, never dropped."""
    settings = _saved_settings(run_dir / ".hydra" / "config.yaml")
    sweep = settings.pop("sweep_name", None)
    overrides = OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))
    summary_path = run_dir / "metrics.json"
    error = "no metrics.json: never ran or still running"
    summary = RunSummary(status="missing", error=error, steps=None, seed=None, overrides=[], final={})
    if summary_path.exists():
        try:
            summary = RunSummary.read(summary_path)
        except ValueError as unreadable:
            summary = replace(summary, status="corrupt", error=str(unreadable))
    summary = replace(summary, sweep=summary.sweep or sweep, overrides=overrides)
    return _row(run_dir.relative_to(sweep_dir).as_posix(), str(run_dir), summary, settings)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)  # every row has the RUN_COLUMNS (``_row``)
    scores = sorted(c for c in frame.columns if c.startswith(SCORE_PREFIXES))
    settings = [c for c in frame.columns if c not in RUN_COLUMNS and c not in scores]
    return frame[[*RUN_COLUMNS, *settings, *scores]]


def load_sweep(sweep_dir: str | Path) -> pd.DataFrame:
    """The table of every run under ``sweep_dir`` (local ``metrics.json`` + ``.hydra/``)."""
    sweep_dir = Path(sweep_dir)
    directories = run_dirs(sweep_dir)
    if not directories:
        raise MissingInputError(f"{sweep_dir} holds no run dirs (none has .hydra/overrides.yaml)")
    return _frame([load_run(directory, sweep_dir) for directory in directories])


def load_wandb(project: str, group: str | None = None, api: Any = None) -> pd.DataFrame:
    """The same table from a wandb project (``entity/project``), optionally one sweep (``group``).

    Needs network and a login (``wandb login``); ``api`` replaces ``wandb.Api()``.
    """
    if api is None:
        import wandb

        api = wandb.Api()
    filters = {} if group is None else {"group": group}
    rows = []
    for run in api.runs(project, filters=filters):
        config = run.config
        flat = {key: run.summary[key] for key in run.summary.keys()}  # noqa: SIM118 (not a dict)
        summary = replace(
            RunSummary.from_wandb(flat, run.state),
            sweep=getattr(run, "group", None),
            overrides=config.get("overrides") or [],
            choices=config.get("choices") or {},
            hyperparameters=config.get("derived") or {},
        )
        composed = OmegaConf.create(config.get("config") or {})
        settings = {key: OmegaConf.select(composed, key) for key in ("seed", *SETTINGS)}
        rows.append(_row(run.id, getattr(run, "url", run.id), summary, settings))
    if not rows:
        raise LookupError(f"wandb project {project!r} has no runs matching {filters}")
    return _frame(rows)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if column.startswith(SCORE_PREFIXES)]


#: Columns measured from the settings rather than set: never an axis of the sweep.
DERIVED_COLUMNS = ("recon_scale",)


def swept_columns(frame: pd.DataFrame) -> list[str]:
    """Settings that take more than one value across the runs (the sweep's axes), seed and the
    derived columns excluded."""
    fixed = {*RUN_COLUMNS, "seed", *DERIVED_COLUMNS, *metric_columns(frame)}
    return [c for c in frame.columns if c not in fixed and frame[c].astype(str).nunique() > 1]


def collapsed_runs(frame: pd.DataFrame) -> pd.Series:
    """Which rows the health check flagged collapsed (runs without a check are not)."""
    return frame["collapsed"].eq(True) if "collapsed" in frame else pd.Series(False, index=frame.index)


def aggregate(
    frame: pd.DataFrame,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    leave_out_collapsed: bool = True,
):
    """Mean, std (ddof 1) and count of each metric over seeds, per combination of ``by`` (default:
    the swept settings), over the completed runs that did not collapse (over every completed run
    when not ``leave_out_collapsed``: for numbers that describe the runs themselves, such as their
    reconstruction error); ``completed`` and ``collapsed`` count each combination's completed runs
    and the collapsed ones among them."""
    by = list(swept_columns(frame) if by is None else by)
    metrics = list(metric_columns(frame) if metrics is None else metrics)
    done = frame[frame["status"] == "completed"].assign(
        completed=1, collapsed=lambda rows: collapsed_runs(rows).astype(int)
    )
    kept = done[done["collapsed"] == 0] if leave_out_collapsed else done
    if not by:
        stats = kept[metrics].agg(["mean", "std", "count"]) if metrics else pd.DataFrame()
        row = {f"{m} {s}": stats.loc[s, m] for m in metrics for s in stats.index}
        return pd.DataFrame([{**row, "completed": len(done), "collapsed": int(done["collapsed"].sum())}])
    counts = done.groupby(by, dropna=False)[["completed", "collapsed"]].sum()
    if not metrics:  # no run got as far as a score (e.g. every run failed): the counts alone
        return counts.reset_index()
    table = kept.groupby(by, dropna=False)[metrics].agg(["mean", "std", "count"])
    table.columns = [f"{metric} {stat}" for metric, stat in table.columns]
    table = counts.join(table, how="left")
    count_columns = [f"{metric} count" for metric in metrics]
    table[count_columns] = table[count_columns].fillna(0).astype(int)
    return table.reset_index()
