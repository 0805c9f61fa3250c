"""The end of training for a run resumed from a checkpoint of its last step."""

from __future__ import annotations

import lightning as L


class FinishFromLastStep(L.Callback):
    """Runs the end-of-training hooks of the ``finishing`` callbacks when a fit trained nothing
    because its checkpoint was already at ``max_steps``.

    Lightning skips the end of training in that case, so a run killed after its last step but
    before its results were written (during the final evaluation, say) would otherwise never get
    them. ``recovered`` says whether this happened.
    """

    def __init__(self, finishing: tuple[type[L.Callback], ...]) -> None:
        self.finishing = finishing
        self.trained = False
        self.recovered = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.trained = True

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.trained or trainer.interrupted or trainer.global_step < trainer.max_steps:
            return
        pl_module.to(trainer.strategy.root_device)  # the fit's teardown moved it to the CPU
        for callback in trainer.callbacks:
            if isinstance(callback, self.finishing):
                callback.on_train_end(trainer, pl_module)
        for logger in trainer.loggers:
            logger.save()
        self.recovered = True
