"""The training callback: periodic (fast) metrics during training, a final (reference) evaluation
at its end, both logged to every logger and summarised for ``metrics.json``."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L

from overlapvae.metrics.suite import Evaluation, MetricSuite
from overlapvae.runs.record import Disentanglement
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)


class DisentanglementMetrics(L.Callback):
    """Evaluate ``periodic`` every ``every_n_steps`` (per metric where ``every_n_steps_per_metric``
    names one; none at step 0) and ``final`` once training reaches its end (taking the periodic
    values when the same suite has just been evaluated at the last step).

    Logged as ``periodic/<metric>.<score>`` and ``final/<metric>.<score>`` with the seconds each
    metric took under ``metric_seconds/``. ``summary()`` holds the final values, the maximum of
    every periodic score over training (what the paper plotted) and the last periodic values.
    A metric that fails is logged as failed with its error; training goes on.
    """

    def __init__(
        self,
        periodic: MetricSuite | None = None,
        final: MetricSuite | None = None,
        every_n_steps: int = 2400,
        every_n_steps_per_metric: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.periodic = periodic or MetricSuite()
        self.final = final or MetricSuite()
        self.every_n_steps = every_n_steps
        self.every_n_steps_per_metric = dict(every_n_steps_per_metric or {})
        for name, interval in {"every_n_steps": every_n_steps, **self.every_n_steps_per_metric}.items():
            if interval < 1:
                raise InvalidInputError(f"{name}={interval} is invalid: evaluate every 1 or more steps")
        self.history: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.final_values: dict[str, float] | None = None

    def due(self, step: int) -> list[str]:
        """Periodic metrics scheduled at ``step``."""
        if step <= 0:
            return []
        return [
            name
            for name in self.periodic.metrics
            if step % self.every_n_steps_per_metric.get(name, self.every_n_steps) == 0
        ]

    def _evaluate(
        self, suite: MetricSuite, names: list[str], trainer: L.Trainer, module: L.LightningModule, prefix: str
    ) -> Evaluation:
        was_training = module.training
        module.eval()
        try:
            data, standardise = trainer.datamodule.data, trainer.datamodule.standardise
            evaluation = suite.evaluate(module.posterior, data, module.device, standardise, names)
        except Exception as error:  # e.g. out of memory while encoding, or no ground-truth data module
            evaluation = Evaluation(errors=dict.fromkeys(names, f"{type(error).__name__}: {error}"))
        finally:
            module.train(was_training)
        step = trainer.global_step
        logged = {f"{prefix}/{key}": value for key, value in evaluation.values.items()}
        logged.update({f"metric_seconds/{key}": value for key, value in evaluation.seconds.items()})
        self._log(trainer, logged)
        for name, error in evaluation.errors.items():
            self.failures.append({"step": step, "stage": prefix, "metric": name, "error": error})
        shown = ", ".join(f"{key}={value:.4g}" for key, value in evaluation.values.items())
        log.info("step %d %s metrics: %s", step, prefix, shown or "none")
        return evaluation

    @staticmethod
    def _log(trainer: L.Trainer, values: dict[str, float]) -> None:
        for logger in trainer.loggers:
            logger.log_metrics(values, step=trainer.global_step)

    def _periodic_values_at(self, step: int) -> dict[str, float] | None:
        """The last periodic evaluation, if it ran at ``step`` with every metric of the final suite
        and the suites are the same: its values are then exactly the final evaluation's."""
        if not self.history or self.history[-1]["step"] != step:
            return None
        if not self.final.gives_the_same_values_as(self.periodic):
            return None
        row = self.history[-1]
        evaluated = {key.split(".", 1)[0] for key in row if key != "step"}
        if not set(self.final.metrics) <= evaluated:
            return None
        return {key: value for key, value in row.items() if key != "step"}

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        names = self.due(trainer.global_step)
        if names and trainer.is_global_zero:
            evaluation = self._evaluate(self.periodic, names, trainer, pl_module, "periodic")
            self.history.append({"step": trainer.global_step, **evaluation.values})

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted:
            return
        if not self.final.metrics:
            self.final_values = {}  # nothing to evaluate: the (empty) final record is complete
            return
        reused = self._periodic_values_at(trainer.global_step)
        if reused is not None:  # the same suite just ran at this step: no second evaluation
            self.final_values = reused
            self._log(trainer, {f"final/{key}": value for key, value in reused.items()})
            return
        names = list(self.final.metrics)
        self.final_values = self._evaluate(self.final, names, trainer, pl_module, "final").values

    def summary(self) -> Disentanglement:
        """The record for ``metrics.json``: ``final`` (reference convention), ``periodic_max``
        (maximum over training of each periodic score, the paper's convention), ``periodic_last``,
        the full ``periodic`` history and ``failures``."""
        maxima: dict[str, float] = {}
        for row in self.history:
            for key, value in row.items():
                if key != "step":
                    maxima[key] = max(maxima.get(key, value), value)
        return Disentanglement(
            final=self.final_values,
            periodic_max=maxima,
            periodic_last=self.history[-1] if self.history else None,
            periodic=self.history,
            failures=self.failures,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "failures": self.failures}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict["history"])
        self.failures = list(state_dict["failures"])
