"""Is a data set adversarial to a reconstruction loss? Answered before training (``overlapvae-audit``).

For ``dataset`` and each loss option named in ``losses`` it writes into the run dir:
``traversal_matrices.{png,pdf}`` (the paper's Figs. 3/8), ``audit.json`` and ``audit.csv`` (factor
importance, correlations, triplet agreement, verdicts, every pair of losses compared over the same
pairs, each loss's training scale on this data) and ``verdict.txt``. Given
``checkpoint=<run dir or .ckpt>`` it also draws the distances of that trained model
(``model_distances.{png,pdf}``, Figs. 4/10). Under ``--multirun`` a summary of the sweep (Fig. 8 and
correlation against the swept value) is written into the sweep dir when all jobs are done.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis import RANDOM, DataAudit, VerdictThresholds, audit_data, model_distance_matrices
from overlapvae.data import GroundTruthData
from overlapvae.experiment.build import build_losses, call_with_config, fit_loss_to_data, make
from overlapvae.experiment.hydra_state import task_overrides
from overlapvae.experiment.trained import TrainedRun, load_trained
from overlapvae.results.figures import model_distance_figure, save_figure, traversal_matrix_figure
from overlapvae.results.tables import override_columns
from overlapvae.runs.record import AuditSummary
from overlapvae.utils.devices import resolve_device
from overlapvae.utils.files import atomic_write_bytes, atomic_write_json
from overlapvae.utils.validation import InvalidInputError

CSV_COLUMNS = (
    "loss",
    "compared_with",
    "factor",
    "size",
    "mean",
    "std",
    "cv",
    "rank_correlation",
    "linear_correlation",
    "triplet_agreement",
    "verdict",
    "scale_ratio",
)


def _cell(value: Any) -> Any:
    """CSV cells: undefined correlations are written as the word ``undefined``."""
    return "undefined" if value is None else value


def audit_csv(audit: DataAudit) -> bytes:
    """A row per loss and factor (and ``random``); then a row per pair of losses and factor, with
    ``compared_with`` the other loss, ``rank_correlation`` how alike the two order those pairs and,
    on the ``random`` row, ``scale_ratio`` (mean distance under ``loss`` over that under the other)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for report in audit.reports:
        row = {column: getattr(report, column) for column in CSV_COLUMNS if hasattr(report, column)}
        for column in ("rank_correlation", "linear_correlation", "triplet_agreement"):
            row[column] = _cell(row[column])
        writer.writerow(row)  # csv writes None (a random row's size and verdict) as an empty cell
    for comparison in audit.comparisons:
        verdict = "same order" if comparison.same_order else "different order"
        common = {"loss": comparison.loss, "compared_with": comparison.other, "verdict": verdict}
        for factor, rho in comparison.factors.items():
            writer.writerow({**common, "factor": factor, "rank_correlation": _cell(rho)})
        writer.writerow(
            {
                **common,
                "factor": RANDOM,
                "rank_correlation": _cell(comparison.overall),
                "scale_ratio": _cell(comparison.scale_ratio),
            }
        )
    return buffer.getvalue().encode()


def audited_data(cfg: DictConfig, run: TrainedRun | None) -> tuple[GroundTruthData, DictConfig]:
    """The data set to audit and its config: ``cfg.dataset``, or for a trained run its own data set,
    or an overriding one of the same kind and image shape (e.g. another grid spacing)."""
    if run is None:
        return make(cfg.dataset), cfg.dataset
    trained = run.model.data
    if not any(key.split(".")[0] == "dataset" for key in override_columns(task_overrides())):
        return trained, run.config.dataset
    data = make(cfg.dataset)
    if type(data) is not type(trained) or data.image_shape != trained.image_shape:
        raise InvalidInputError(
            f"the checkpoint was trained on {type(trained).__name__} images of shape "
            f"{trained.image_shape}, but dataset is {type(data).__name__} with {data.image_shape}: "
            "drop the dataset override to use the run's data set, or change only its parameters"
        )
    return data, cfg.dataset


def write_model_distances(cfg: DictConfig, run: TrainedRun, data: GroundTruthData, output_dir: Path) -> None:
    """Figs. 4/10 and their matrices (``model_distances.json``) for a trained run on ``data``."""
    framework = run.model.framework
    generator = torch.Generator(next(framework.parameters()).device).manual_seed(cfg.seed)
    matrices = model_distance_matrices(
        framework, data, run.model.standardise, cfg.model_traversals, generator, cfg.factors
    )
    record = {
        "checkpoint": str(run.checkpoint),
        "step": run.step,
        "matrices": {f: {k: v.tolist() for k, v in columns.items()} for f, columns in matrices.items()},
    }
    atomic_write_json(output_dir / "model_distances.json", record)
    figure = model_distance_figure(matrices, type(framework).__name__, run.step)
    save_figure(figure, output_dir / "model_distances")


def audit(cfg: DictConfig) -> DataAudit:
    """Run the audit of ``cfg`` and write its outputs into ``cfg.paths.output_dir``."""
    output_dir = Path(cfg.paths.output_dir)
    device = resolve_device(cfg.device)
    losses = build_losses(list(cfg.losses), cfg.standardise, cfg.kernel_file)
    run = load_trained(cfg.checkpoint, device) if cfg.checkpoint is not None else None
    data, dataset_config = audited_data(cfg, run)
    for loss in losses.values():
        fit_loss_to_data(loss, data, cfg.standardise, cfg.paths.get("cache_dir"))
    thresholds = VerdictThresholds(**cfg.thresholds)
    result = call_with_config(audit_data, cfg, data, losses, device=device, thresholds=thresholds)
    overrides = task_overrides()
    settings = [o.split(".", 1)[-1] for o in overrides if o.startswith("dataset.")]
    title = type(data).__name__ + (f" ({', '.join(settings)})" if settings else "")
    figure = traversal_matrix_figure(result.matrices, result.losses, title)
    save_figure(figure, output_dir / "traversal_matrices")
    record = AuditSummary(
        **{
            **result.to_json(),
            "reports": result.reports,
            "dataset": OmegaConf.to_container(dataset_config, resolve=True, enum_to_str=True),
            "overrides": overrides,
            "device": str(device),
            "loss_scales": {name: loss.effective_scale for name, loss in losses.items()},
        }
    )
    atomic_write_json(output_dir / "audit.json", record.to_json())
    atomic_write_bytes(output_dir / "audit.csv", audit_csv(result))
    atomic_write_bytes(output_dir / "verdict.txt", ("\n".join(result.verdict_lines()) + "\n").encode())
    if run is not None:
        write_model_distances(cfg, run, data, output_dir)
    return result
