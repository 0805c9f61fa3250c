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
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from overlapvae.runs import read_summary
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


def _select(config: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(config, dict) or key not in config:
            return None
        config = config[key]
    return config


def _parse_value(text: str) -> Any:
    """An override's value as Hydra would type it (``8`` → 8, ``0.001`` → 0.001, ``l1`` → "l1")."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def override_columns(overrides: Iterable[str]) -> dict[str, Any]:
    """``["loss=l1", "dataset.grid_spacing=4"]`` → ``{"loss": "l1", "dataset.grid_spacing": 4}``."""
    columns = {}
    for override in overrides:
        key, separator, value = override.partition("=")
        if separator:
            columns[key.lstrip("+~")] = _parse_value(value)
    return columns


def score_columns(summary: dict[str, Any]) -> dict[str, float]:
    """The numbers of a ``metrics.json``: final scores, maxima over training, last losses."""
    scores = summary.get("disentanglement") or {}
    columns = {f"final/{key}": value for key, value in (scores.get("final") or {}).items()}
    columns.update({f"max/{key}": value for key, value in (scores.get("periodic_max") or {}).items()})
    losses = summary.get("final") or {}
    columns.update({f"loss/{key.removeprefix('train/')}": value for key, value in losses.items()})
    ratio = (summary.get("health") or {}).get("ratio")
    if ratio is not None:
        columns["health/ratio"] = ratio
    return columns


def _row(
    run: str, sweep: str | None, path: str, summary: dict, settings: dict, choices: dict, overrides: list
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run": run,
        "sweep": sweep,
        "status": summary.get("status"),
        "error": summary.get("error"),
        "steps": summary.get("steps"),
        "seed": summary.get("seed", settings.get("seed")),
        "path": path,
        "log": (summary.get("scheduler") or {}).get("log"),
        "collapsed": (summary.get("health") or {}).get("collapsed"),
    }
    row.update(choices)
    scale = (summary.get("hyperparameters") or {}).get("recon_scale")
    if scale is not None:
        row["recon_scale"] = scale
    row.update({key: value for key, value in settings.items() if key != "seed" and value is not None})
    row.update(override_columns(overrides))
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
    settings = {}
    for key in ("seed", "sweep_name", *SETTINGS):
        try:
            settings[key] = OmegaConf.select(config, key, default=None)
        except Exception:  # an interpolation that only resolves inside a running job
            settings[key] = None
    return settings


def load_run(run_dir: Path, sweep_dir: Path) -> dict[str, Any]:
    """One run dir's row. A missing or unreadable ``metrics.json`` gives status ``missing`` or
    ``corrupt`` with the reason in ``error``: the run is listed, never dropped."""
    settings = _saved_settings(run_dir / ".hydra" / "config.yaml")
    overrides = OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))
    summary_path = run_dir / "metrics.json"
    if not summary_path.exists():
        summary: dict[str, Any] = {
            "status": "missing",
            "error": "no metrics.json: never ran or still running",
        }
    else:
        try:
            summary = read_summary(summary_path)
        except ValueError as error:
            summary = {"status": "corrupt", "error": str(error)}
    return _row(
        run_dir.relative_to(sweep_dir).as_posix(),
        summary.get("sweep", settings.pop("sweep_name", None)),
        str(run_dir),
        summary,
        {key: value for key, value in settings.items() if key != "sweep_name"},
        summary.get("choices") or {},
        overrides,
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in RUN_COLUMNS:
        if column not in frame:
            frame[column] = None
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


WANDB_STATES = {"finished": "completed", "crashed": "failed", "failed": "failed", "killed": "interrupted"}


def _wandb_summary(run: Any) -> dict[str, Any]:
    """A wandb run's summary in ``metrics.json`` form (what ``finish_wandb`` wrote)."""
    flat = {key: run.summary[key] for key in run.summary.keys()}  # noqa: SIM118 (not a dict)

    def section(prefix: str) -> dict[str, Any]:
        return {key.removeprefix(prefix): value for key, value in flat.items() if key.startswith(prefix)}

    return {
        "status": flat.get("status") or WANDB_STATES.get(run.state, run.state),
        "error": flat.get("error"),
        "steps": flat.get("steps"),
        "seed": flat.get("seed"),
        "final": {f"train/{key}": value for key, value in section("final_losses/train/").items()},
        "disentanglement": {"final": section("final_metrics/"), "periodic_max": section("periodic_max/")},
        "health": section("health/"),
        "hyperparameters": (run.config.get("derived") or {}),
    }


def load_wandb(
    project: str, filters: dict[str, Any] | None = None, group: str | None = None, api: Any = None
) -> pd.DataFrame:
    """The same table from a wandb project (``entity/project``), optionally one sweep (``group``).

    Needs network and a login (``wandb login``); ``api`` replaces ``wandb.Api()``.
    """
    if api is None:
        import wandb

        api = wandb.Api()
    filters = dict(filters or {})
    if group is not None:
        filters["group"] = group
    rows = []
    for run in api.runs(project, filters=filters):
        config = run.config
        composed = config.get("config") or {}
        rows.append(
            _row(
                run.id,
                getattr(run, "group", None),
                getattr(run, "url", run.id),
                _wandb_summary(run),
                {key: _select(composed, key) for key in ("seed", *SETTINGS)},
                config.get("choices") or {},
                config.get("overrides") or [],
            )
        )
    if not rows:
        raise LookupError(f"wandb project {project!r} has no runs matching {filters}")
    return _frame(rows)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if column.startswith(SCORE_PREFIXES)]


#: Columns measured from the settings rather than set: never an axis of the sweep.
DERIVED_COLUMNS = ("recon_scale",)


def swept_columns(frame: pd.DataFrame, exclude: Sequence[str] = ("seed",)) -> list[str]:
    """Settings that take more than one value across the runs (the sweep's axes), seed and the
    derived columns excluded."""
    candidates = [
        c
        for c in frame.columns
        if c not in RUN_COLUMNS and c not in DERIVED_COLUMNS and c not in metric_columns(frame)
    ]
    return [c for c in candidates if c not in exclude and frame[c].astype(str).nunique() > 1]


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
