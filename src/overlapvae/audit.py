"""``overlapvae-audit``: is a data set adversarial to a reconstruction loss? Answered before training.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import MissingConfigException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis import RANDOM, DataAudit, VerdictThresholds, audit_data, model_distance_matrices
from overlapvae.analysis.figures import model_distance_figure, save_figure, traversal_matrix_figure
from overlapvae.analysis.sweep import summarise_sweep
from overlapvae.build import config_dir, fit_loss_to_data, make
from overlapvae.config import register_schemas
from overlapvae.data import GroundTruthData
from overlapvae.evaluate import resolve_device
from overlapvae.frameworks import AutoEncoder
from overlapvae.losses import ReconstructionLoss
from overlapvae.runs import load_trained
from overlapvae.utils.files import atomic_write_bytes, atomic_write_json
from overlapvae.utils.validation import InvalidInputError, reports_bad_input

register_schemas()

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


def compose_option(group: str, name: str) -> DictConfig:
    """The composed node of option ``name`` of config group ``group`` (schema defaults included)."""

    def load() -> DictConfig:
        try:
            return compose(config_name=f"{group}/{name}")[group]
        except MissingConfigException as error:
            options = sorted(path.stem for path in (Path(config_dir()) / group).glob("*.yaml"))
            raise InvalidInputError(
                f"no {group} option {name!r}: choose from {', '.join(options)}"
            ) from error

    if GlobalHydra.instance().is_initialized():
        return load()
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return load()


def load_losses(
    names: list[str], standardise: bool, kernel_file: str | None = None
) -> dict[str, ReconstructionLoss]:
    """Instantiate each named ``loss/`` option (``kernel_file`` fills a kernel loss that needs one,
    e.g. ``mse_learnt``); refuse a loss that needs [0, 1] images when standardised."""
    if not names:
        raise InvalidInputError("losses=[] names no loss: audit at least one, e.g. losses=[mse,l1]")
    nodes = {name: compose_option("loss", name) for name in names}
    for name, node in nodes.items():
        if node.get("kernel") == "file":
            if kernel_file is None:
                raise InvalidInputError(f"loss {name!r} needs a kernel: add kernel_file=<path of kernel.pt>")
            node.kernel_file = kernel_file
    losses = {name: make(node) for name, node in nodes.items()}
    for name, loss in losses.items():
        if standardise and loss.requires_unit_interval_targets:
            raise InvalidInputError(
                f"loss {name!r} needs images in [0, 1]: set standardise=false to audit it"
            )
    return losses


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
        row["size"] = "" if row["size"] is None else row["size"]
        row["verdict"] = row["verdict"] or ""
        writer.writerow(row)
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


def _dataset_overridden() -> bool:
    if not HydraConfig.initialized():
        return False
    return any(o.lstrip("+~").startswith("dataset") for o in HydraConfig.get().overrides.task)


@dataclass
class TrainedModel:
    """A checkpoint's framework (on its device), the data set to audit it on, and its scale."""

    framework: AutoEncoder
    data: GroundTruthData
    dataset_config: DictConfig
    standardise: bool
    checkpoint: Path
    step: int | None


def load_trained_model(cfg: DictConfig, device: torch.device) -> TrainedModel:
    """The model of ``cfg.checkpoint`` and its run's data set, or an overriding data set of the same
    kind and image shape (e.g. another grid spacing), checked before any work is done."""
    run = load_trained(cfg.checkpoint, device)
    model = run.model
    data, dataset_config = model.data, run.config.dataset
    if _dataset_overridden():
        data, dataset_config = make(cfg.dataset), cfg.dataset
        if type(data) is not type(model.data) or data.image_shape != model.data.image_shape:
            raise InvalidInputError(
                f"the checkpoint was trained on {type(model.data).__name__} images of shape "
                f"{model.data.image_shape}, but dataset is {type(data).__name__} with {data.image_shape}: "
                "drop the dataset override to use the run's data set, or change only its parameters"
            )
    return TrainedModel(model.framework, data, dataset_config, model.standardise, run.checkpoint, run.step)


def write_model_distances(cfg: DictConfig, model: TrainedModel, output_dir: Path) -> list[Path]:
    """Figs. 4/10 and their matrices (``model_distances.json``) for a trained model."""
    generator = torch.Generator(next(model.framework.parameters()).device).manual_seed(cfg.seed)
    matrices = model_distance_matrices(
        model.framework, model.data, model.standardise, cfg.model_traversals, generator, cfg.factors
    )
    record = {
        "checkpoint": str(model.checkpoint),
        "step": model.step,
        "matrices": {f: {k: v.tolist() for k, v in columns.items()} for f, columns in matrices.items()},
    }
    atomic_write_json(output_dir / "model_distances.json", record)
    figure = model_distance_figure(matrices, type(model.framework).__name__, model.step)
    return save_figure(figure, output_dir / "model_distances")


def audit(cfg: DictConfig) -> DataAudit:
    """Run the audit of ``cfg`` and write its outputs into ``cfg.paths.output_dir``."""
    output_dir = Path(cfg.paths.output_dir)
    device = resolve_device(cfg.device)
    losses = load_losses(list(cfg.losses), cfg.standardise, cfg.kernel_file)
    model = load_trained_model(cfg, device) if cfg.checkpoint is not None else None
    data, dataset_config = (model.data, model.dataset_config) if model else (make(cfg.dataset), cfg.dataset)
    for loss in losses.values():
        fit_loss_to_data(loss, data, cfg.standardise, cfg.paths.get("cache_dir"))
    result = audit_data(
        data,
        losses,
        factors=None if cfg.factors is None else list(cfg.factors),
        num_traversals=cfg.num_traversals,
        num_pairs=cfg.num_pairs,
        triplets_per_traversal=cfg.triplets_per_traversal,
        standardise=cfg.standardise,
        seed=cfg.seed,
        device=device,
        thresholds=VerdictThresholds(**cfg.thresholds),
    )
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    settings = [o.split(".", 1)[-1] for o in overrides if o.startswith("dataset.")]
    title = type(data).__name__ + (f" ({', '.join(settings)})" if settings else "")
    save_figure(
        traversal_matrix_figure(result.matrices, result.losses, title), output_dir / "traversal_matrices"
    )
    atomic_write_json(
        output_dir / "audit.json",
        {
            **result.to_json(),
            "dataset": OmegaConf.to_container(dataset_config, resolve=True, enum_to_str=True),
            "overrides": overrides,
            "device": str(device),
            "loss_scales": {name: loss.effective_scale for name, loss in losses.items()},
        },
    )
    atomic_write_bytes(output_dir / "audit.csv", audit_csv(result))
    atomic_write_bytes(output_dir / "verdict.txt", ("\n".join(result.verdict_lines()) + "\n").encode())
    if model is not None:
        write_model_distances(cfg, model, output_dir)
    return result


class SweepSummary(Callback):
    """At the end of a multirun: Fig. 8 and correlation against the swept value, in the sweep dir."""

    def __init__(self, factor: str | None = None) -> None:
        self.factor = factor

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        written = summarise_sweep(Path(config.hydra.sweep.dir), self.factor)
        if written:
            print(f"sweep summary: {', '.join(str(path) for path in written)}")


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="audit")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    result = audit(cfg)
    print("\n".join(result.verdict_lines()))
    print(f"wrote {cfg.paths.output_dir}")


if __name__ == "__main__":
    main()
