"""The wiring of experiments: typed schemas, ``build`` (the one place that turns config into objects
and injects what the application supplies), Hydra set-up and callbacks, launchers, wandb set-up, and
the jobs the commands run (train, evaluate, audit, learn a kernel)."""
