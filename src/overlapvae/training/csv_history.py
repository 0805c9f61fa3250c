"""An append-only CSV history: a resumed run keeps every row logged before its checkpoint.

Lightning's ``CSVLogger`` deletes ``metrics.csv`` when it finds one, so a resumed run used to lose
its history. ``AppendingCSVLogger`` appends instead, and ``CSVHistory`` makes the file agree
with the checkpoint: every checkpoint flushes the logger and records how many rows the file holds;
a resumed run first cuts the file back to that count, dropping rows logged after the checkpoint
(which the resumed run logs again), so no step appears twice.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from overlapvae.utils.files import atomic_write_bytes


class AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, keeping an existing ``metrics.csv`` and its columns."""

    @property
    def _path(self) -> Path:
        return Path(self.metrics_file_path)

    def _read(self) -> tuple[list[dict[str, str]], list[str]]:
        """The file's data rows and columns (none without a file)."""
        if not self._path.is_file():
            return [], []
        with self._path.open(newline="") as file:
            reader = csv.DictReader(file)
            return list(reader), list(reader.fieldnames or [])

    def _check_log_dir_exists(self) -> None:
        """Keep what is there (Lightning's writer deletes it)."""
        self.metrics_keys = self._read()[1]

    def rows(self) -> int:
        """Data rows in the file, after writing everything logged so far."""
        self.save()
        return len(self._read()[0])

    def keep_rows(self, count: int) -> None:
        """Cut the file back to its first ``count`` data rows (atomically)."""
        self.metrics = []
        rows, fieldnames = self._read()
        if len(rows) > count:
            text = io.StringIO(newline="")
            writer = csv.DictWriter(text, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows[:count])
            atomic_write_bytes(self._path, text.getvalue().encode())


class AppendingCSVLogger(CSVLogger):
    """``CSVLogger`` whose ``metrics.csv`` outlives a resume (``AppendingWriter``)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingWriter(log_dir=self.log_dir)
        return self._experiment


class CSVHistory(L.Callback):
    """Records in each checkpoint how many rows every ``AppendingCSVLogger`` holds, and cuts the
    files back to those counts when a run resumes from it."""

    @staticmethod
    def _writers(trainer: L.Trainer) -> list[AppendingWriter]:
        if not trainer.is_global_zero:
            return []
        return [logger.experiment for logger in trainer.loggers if isinstance(logger, AppendingCSVLogger)]

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint["csv_history_rows"] = [writer.rows() for writer in self._writers(trainer)]

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        counts: list[Any] = checkpoint.get("csv_history_rows", [])
        for writer, count in zip(self._writers(trainer), counts, strict=False):
            writer.keep_rows(int(count))
