"""Every config option composes and instantiates; bad values fail at compose or build time."""

import importlib
import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from hydra.utils import get_object
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf

from overlapvae.data.standard import STANDARD_DATASETS
from overlapvae.experiment.build import make
from overlapvae.experiment.hydra_setup import config_dir
from overlapvae.experiment.jobs.train import build
from overlapvae.frameworks import AutoEncoder
from overlapvae.metrics import DCI, MIG, SAP, BetaVAEScore, FactorVAEScore, MetricSuite, Unsupervised
from overlapvae.training.checkpoint import LastCheckpoint
from overlapvae.training.csv_history import AppendingCSVLogger
from overlapvae.training.images import ReconstructionImages
from overlapvae.training.nonfinite import NonFiniteLossGuard
from overlapvae.utils.validation import InvalidInputError, user_error
from tiny_sources import own_folder, own_npz

CONF = Path(config_dir())
GROUPS = (
    "dataset",
    "datamodule",
    "framework",
    "model",
    "loss",
    "optimizer",
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "debug",
    "experiment",
    "scale",
)


def options(group):
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def test_every_group_has_options():
    for group in GROUPS:
        assert options(group), group


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes_instantiates_and_trains_a_step(train_config, group, option, tmp_path, request):
    overrides = [f"{group}={option}", "trainer.max_steps=1"]
    if option == "mse_learnt":  # its kernel file is the user's (overlapvae-learn-kernel writes one)
        torch.save({"kernel": torch.ones(3, 3) / 9}, tmp_path / "kernel.pt")
        overrides.append(f"loss.kernel_file={tmp_path / 'kernel.pt'}")
    name = "smallnorb" if option == "standard" else option  # standard: a benchmark by its name
    if group == "dataset" and name in STANDARD_DATASETS:  # small files in the real format, served locally
        benchmarks = request.getfixturevalue("tiny_benchmarks")
        benchmarks.add(name)
        overrides += [f"dataset.name={name}", f"paths.data_dir={benchmarks.data_dir}"]
    if group == "dataset" and option in ("npz", "folder"):  # the user's own files
        source = own_npz(tmp_path / "own.npz") if option == "npz" else own_folder(tmp_path / "own")
        overrides += [f"dataset.path={source}", f"paths.data_dir={tmp_path / 'data'}"]
    fast = group not in ("model", "experiment", "scale")  # these choose the model or the run shape
    if not fast:
        overrides += ["metrics@evaluation.periodic=none", "metrics@evaluation.final=none"]
    if train_config(*overrides, fast=fast).trainer.accelerator == "gpu" and not torch.cuda.is_available():
        overrides += ["trainer.accelerator=cpu", "trainer.devices=1"]
    run = build(train_config(*overrides, fast=fast))
    assert isinstance(run.framework, AutoEncoder)
    assert run.datamodule.image_shape == run.framework.image_shape
    run.trainer.fit(run.framework, datamodule=run.datamodule)
    assert run.trainer.global_step == 1
    assert all(torch.isfinite(p).all() for p in run.framework.parameters())


def schema_nodes(node, key="cfg"):
    """``(key, node)`` for every node of a composed config that a schema types (``schema_of``)."""
    if hasattr(OmegaConf.get_type(node), "schema_of"):
        yield key, node
    for child in node:
        value = node._get_node(child)
        if isinstance(value, DictConfig):
            yield from schema_nodes(value, f"{key}.{child}")


@pytest.mark.parametrize(
    "override",
    [f"{g}={o}" for g in GROUPS for o in options(g)]
    + [f"metrics@evaluation.final={o}" for o in options("metrics")],
)
def test_every_target_names_the_class_its_schema_was_derived_from(train_config, override):
    nodes = dict(schema_nodes(train_config(override, fast=False)))
    built = {"dataset", "datamodule", "framework", "model", "loss", "trainer", "evaluation.final"}
    assert {f"cfg.{key}" for key in built} <= set(nodes)
    for key, node in nodes.items():
        assert get_object(node._target_) is OmegaConf.get_type(node).schema_of, key


def test_a_beta_tcvae_is_given_its_data_sets_size(train_config):
    run = build(train_config("framework=betatcvae"))
    assert run.framework.dataset_size == run.datamodule.num_observations == 8**6  # XYSquares: 6 factors of 8
    assert run.framework.hparams["dataset_size"] == run.framework.dataset_size


@pytest.mark.parametrize("framework", options("framework"))
@pytest.mark.parametrize("loss", ["l1_matched", "mse_calibrated", "l1_calibrated"])
def test_matched_and_calibrated_losses_train_a_step_under_every_framework(train_config, framework, loss):
    run = build(train_config(f"framework={framework}", f"loss={loss}", "trainer.max_steps=1"))
    run.trainer.fit(run.framework, datamodule=run.datamodule)
    assert run.trainer.global_step == 1
    assert all(torch.isfinite(p).all() for p in run.framework.parameters())
    hyperparameters = run.framework.hparams
    assert hyperparameters["recon_scale"] == pytest.approx(
        math.sqrt(65) if loss == "l1_matched" else 1.0, rel=1e-5
    )
    assert hyperparameters["recon_scale_matched"] == (loss == "l1_matched")
    smoothed = loss != "mse_calibrated"  # L1's kink is smoothed over the first steps, from the data's range
    assert hyperparameters["recon_smoothing_steps"] == (10 if smoothed else 0)
    assert hyperparameters["recon_smoothing_start"] == (
        pytest.approx(math.sqrt(65), rel=1e-5) if smoothed else 0.0
    )


def test_the_measured_scale_is_cached_in_the_cache_dir(train_config, tmp_path):
    cache = tmp_path / "cache"
    build(train_config("loss=l1_matched", f"paths.cache_dir={cache}"))
    assert len(list((cache / "matched_scale").glob("*.pt"))) == 1
    assert len(list((cache / "constant_baseline").glob("*.pt"))) == 1  # the smoothing's range


def test_default_composition_is_the_papers_setup(train_config):
    cfg = train_config(fast=False)
    assert cfg.seed == 0
    assert cfg.dataset.grid_spacing == 8 and cfg.framework.beta == 0.0316 and cfg.model.latent_size == 25
    assert cfg.optimizer.lr == 1e-3 and cfg.datamodule.batch_size == 256 and cfg.trainer.max_steps == 57_600
    run = build(cfg)
    assert {type(callback) for callback in run.trainer.callbacks} >= {
        LastCheckpoint,
        NonFiniteLossGuard,
        ReconstructionImages,
    }
    assert {type(logger) for logger in run.trainer.loggers} == {AppendingCSVLogger, WandbLogger}
    assert run.trainer.loggers[1]._offline


def test_wrong_types_and_unknown_keys_fail_at_compose_time(train_config):
    with pytest.raises(ConfigCompositionException, match="grid_spacing"):
        train_config("dataset.grid_spacing=abc")
    with pytest.raises(ConfigCompositionException, match="grid_spcing"):
        train_config("dataset.grid_spcing=2")
    with pytest.raises(ConfigCompositionException, match="seed"):
        train_config("seed=first")


def test_unknown_option_lists_the_choices(train_config):
    with pytest.raises(
        ConfigCompositionException, match=r"(?s)xysquares_mini.*Available options.*xysquares_minimal"
    ):
        train_config("dataset=xysquares_mini")


def test_invalid_data_set_parameters_fail_before_training(train_config):
    with pytest.raises(Exception, match=r"grid_spacing=0 is invalid") as raised:
        build(train_config("dataset.grid_spacing=0"))
    assert isinstance(user_error(raised.value), InvalidInputError)  # reported as bad input, by name


def test_bce_targets_are_never_standardised(train_config):
    assert build(train_config("loss=bce")).datamodule.standardise is False
    assert build(train_config("loss=mse")).datamodule.standardise is True
    with pytest.raises(ValueError, match=r"needs targets in \[0, 1\].*datamodule\.standardise=false"):
        build(train_config("loss=bce", "datamodule.standardise=true"))


@pytest.mark.parametrize("option", options("metrics"))
def test_every_metrics_preset_composes_for_training_and_for_evaluate(train_config, option):
    cfg = train_config(f"metrics@evaluation.periodic={option}", f"metrics@evaluation.final={option}")
    callback = make(cfg.callbacks.metrics)
    assert isinstance(callback.periodic, MetricSuite) and isinstance(callback.final, MetricSuite)
    with initialize_config_dir(config_dir(), version_base="1.3"):
        evaluate_cfg = compose("evaluate", overrides=[f"metrics@evaluation={option}", "checkpoint=run"])
    suite = make(evaluate_cfg.evaluation)
    assert isinstance(suite, MetricSuite) and suite.representation == "mean" and suite.random_seed == 0
    assert set(suite.metrics) == set(callback.final.metrics)


def test_reference_and_fast_presets_have_the_documented_sizes(train_config):
    cfg = train_config(fast=False)
    reference, fast = make(cfg.evaluation.final).metrics, make(cfg.evaluation.periodic).metrics
    assert reference == {
        "mig": MIG(num_train=10_000, num_bins=20),
        "dci": DCI(num_train=10_000, num_test=5_000, n_jobs=-1),
        "sap": SAP(num_train=10_000, num_test=5_000, continuous_factors=False),
        "factor_vae": FactorVAEScore(64, 10_000, 5_000, 10_000, prune_threshold=0.05),
        "beta_vae": BetaVAEScore(64, 10_000, 5_000),
        "unsupervised": Unsupervised(num_train=10_000, num_bins=20),
    }
    assert fast == {
        "mig": MIG(num_train=2_000),
        "dci": DCI(num_train=1_000, num_test=500),
        "sap": SAP(num_train=2_000, num_test=1_000),
        "factor_vae": FactorVAEScore(64, 700, 350, 1_000, prune_threshold=0.0),
        "unsupervised": Unsupervised(num_train=2_000),
    }
    callback = make(cfg.callbacks.metrics)
    assert callback.due(2400) == ["mig", "sap", "unsupervised"] and callback.due(0) == []
    assert callback.due(7200) == list(fast)


def test_metric_settings_are_typed_at_compose_time(train_config):
    with pytest.raises(ConfigCompositionException, match="num_train"):
        train_config("metrics@evaluation.final=reference", "evaluation.final.metrics.dci.num_train=many")
    with pytest.raises(ConfigCompositionException, match="num_trian"):
        train_config("metrics@evaluation.final=reference", "evaluation.final.metrics.dci.num_trian=5")


def test_every_launcher_composes_and_its_plugin_is_installed():
    assert options("hydra/launcher") == ["packed", "packed_slurm", "slurm"]  # and the plugins' own
    for launcher in ["basic", "joblib", "packed", "packed_slurm", "slurm", "submitit_local"]:
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose("train", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
        module, _, name = cfg.hydra.launcher._target_.rpartition(".")
        assert hasattr(importlib.import_module(module), name), launcher
    subdir = OmegaConf.to_container(cfg.hydra.sweep)["subdir"]  # unresolved: Hydra resolves it per job
    assert subdir == "${run_key:${hydra:job.override_dirname},${seed}}"


def test_the_packed_slurm_launcher_has_the_slurm_launchers_settings():
    with initialize_config_dir(config_dir(), version_base="1.3"):
        packed, alone = (
            OmegaConf.to_container(
                compose("train", [f"hydra/launcher={name}"], return_hydra_config=True).hydra.launcher
            )
            for name in ("packed_slurm", "slurm")
        )
    assert packed.pop("pack_size") == 8 and packed.pop("_target_") != alone.pop("_target_")
    assert packed == alone


@pytest.mark.parametrize(
    ("experiment", "runs", "axes"),
    [
        ("overlap_vs_loss", 54, {"loss", "dataset.grid_spacing", "framework", "seed"}),
        ("overlap_vs_loss_demo", 4, {"loss", "dataset.grid_spacing", "framework", "seed"}),
        ("l1_vs_mse", 30, {"loss", "dataset.grid_spacing", "seed"}),
        ("paper_spacing", 160, {"dataset.grid_spacing", "framework", "framework.beta", "seed"}),
        ("paper_datasets", 160, {"dataset", "framework", "framework.beta", "model.latent_size", "seed"}),
        ("paper_boxblur", 40, {"loss", "framework", "framework.beta", "seed"}),
    ],
)
def test_experiments_declare_their_grid_and_scales_set_the_run_shape(experiment, runs, axes):
    with initialize_config_dir(config_dir(), version_base="1.3"):
        paper = compose(
            "train", overrides=[f"experiment={experiment}", "scale=paper"], return_hydra_config=True
        )
        cpu = compose("train", overrides=[f"experiment={experiment}", "scale=cpu"], return_hydra_config=True)
    params = paper.hydra.sweeper.params
    assert set(params) == axes
    assert math.prod(len(str(values).split(",")) for values in params.values()) == runs
    assert (
        paper.trainer.max_steps
        == paper.paper_steps
        == (115_200 if experiment == "paper_datasets" else 57_600)
    )
    assert paper.datamodule.batch_size == 256 and paper.trainer.accelerator == "gpu"
    assert paper.sweep_name.endswith("_paper") and cpu.sweep_name.endswith("_cpu")
    assert (
        cpu.trainer.max_steps == 1500 and cpu.datamodule.batch_size == 64 and cpu.trainer.accelerator == "cpu"
    )
    assert paper.model.latent_size == (25 if experiment in ("paper_datasets", "paper_boxblur") else 9)
