"""Results of runs and sweeps: tidy tables from run dirs, wandb and audit sweeps (``tables``,
``audit_sweep``), every figure (``figures``), and the Markdown and plain-text reports (``report``)."""
