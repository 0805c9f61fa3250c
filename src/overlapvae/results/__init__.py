"""Results of runs and sweeps: tidy tables from run dirs, wandb and audit sweeps, every figure, and
the Markdown and plain-text reports."""

from overlapvae.results.tables import (
    aggregate,
    collapsed_runs,
    load_run,
    load_sweep,
    load_wandb,
    metric_columns,
    override_columns,
    run_dirs,
    score_columns,
    swept_columns,
)

__all__ = [
    "aggregate",
    "collapsed_runs",
    "load_run",
    "load_sweep",
    "load_wandb",
    "metric_columns",
    "override_columns",
    "run_dirs",
    "score_columns",
    "swept_columns",
]
