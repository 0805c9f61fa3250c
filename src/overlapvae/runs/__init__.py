"""Run directories and what they hold: run keys, skip/resume decisions (``directory``), the run and
audit records (``record``) and checkpoints (``checkpoints``). Hydra-free: a notebook or a launcher
reads runs with it."""
