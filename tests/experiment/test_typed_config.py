"""Every value is typed before anything starts: the trainer node, mode options as enums (Hydra lists
their choices), and the range checks a type cannot express, named by key."""

from __future__ import annotations

import enum
import re

import pytest
from hydra.errors import ConfigCompositionException

from overlapvae.data import GroundTruthDataModule
from overlapvae.experiment.build import make
from overlapvae.experiment.checks import check_train_config
from overlapvae.experiment.jobs.train import build
from overlapvae.experiment.schemas import TrainerConfig, schema_for
from overlapvae.frameworks import AdaGVAE, BetaTCVAE
from overlapvae.losses import KernelLoss, MSELoss
from overlapvae.utils.validation import InvalidInputError


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("trainer.max_steps=abc", r"'abc' of type 'str' could not be converted to Integer.*max_steps"),
        ("trainer.log_every_n_steps=often", r"trainer\.log_every_n_steps"),
        ("trainer.accumulate_grad_batches=1.5", r"trainer\.accumulate_grad_batches"),
        ("trainer.precision=32", r"expected one of \[64-true, 32-true, .*\].*trainer\.precision"),
        ("loss.reduction=average", r"expected one of \[mean, sum, sample_sum, none\].*loss\.reduction"),
        ("framework=adagvae framework.mean_mode=fixed", r"expected one of \[correct, paper\]"),
        ("framework=adagvae framework.pair_sampling=random", r"expected one of \[paper_code, paper_text\]"),
        ("framework=betatcvae framework.estimator=exact", r"expected one of \[mss, mws\]"),
        ("loss=mse_box_r31 loss.kernel=disc", r"expected one of \[box, gaussian, file\]"),
        ("trainer.memory_format=strided", r"expected one of \[contiguous, channels_last\]"),
        ("metrics@evaluation.final=reference evaluation.final.representation=median", r"\[mean, sampled\]"),
    ],
)
def test_a_wrong_type_or_an_unknown_choice_fails_at_compose_time_naming_the_key(
    train_config, override, named
):
    with pytest.raises(ConfigCompositionException) as raised:
        train_config(*override.split())
    message = f"{raised.value}\n{raised.value.__cause__}"  # what Hydra prints: the error and its cause
    assert re.search(named, message, re.S), message


def test_mode_options_are_enums_in_the_schemas_and_plain_strings_in_the_objects(train_config):
    for target, field in [(MSELoss, "reduction"), (KernelLoss, "kernel"), (AdaGVAE, "mean_mode")]:
        (annotation,) = [f.type for f in schema_for(target).__dataclass_fields__.values() if f.name == field]
        assert issubclass(annotation, enum.Enum), (target, field)
    assert issubclass(TrainerConfig.__dataclass_fields__["max_steps"].type, int)
    cfg = train_config("framework=betatcvae", "framework.estimator=mws", "loss.reduction=sum")
    assert isinstance(cfg.loss.reduction, enum.Enum)  # checked by OmegaConf ...
    framework = build(cfg).framework
    assert (
        type(framework.recon_loss.reduction) is str and framework.recon_loss.reduction == "sum"
    )  # ... given as str
    assert isinstance(framework, BetaTCVAE) and type(framework.estimator) is str
    assert type(make(cfg.loss).reduction) is str


class Seeded:
    injected = ("data",)

    def __init__(self, data: object, seed: int = 0, model: str = "a") -> None: ...


def test_a_schema_leaves_out_only_the_arguments_its_class_declares_injected():
    assert set(schema_for(Seeded).__dataclass_fields__) == {"_target_", "seed", "model"}
    assert "dataset_size" not in schema_for(BetaTCVAE).__dataclass_fields__
    datamodule = schema_for(GroundTruthDataModule).__dataclass_fields__
    assert not {"data", "seed", "pair_mode"} & set(datamodule)
    assert "standardise" in datamodule  # the request build resolves: null picks it from the loss


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.max_steps=0", r"trainer\.max_steps=0 is invalid: choose an integer >= 1"),
        ("trainer.max_steps=-1", r"trainer\.max_steps=-1 is invalid: .*-1 is not offered"),
        ("seed=-1", r"seed=-1 is invalid: choose an integer in \[0, 4294967295\]"),
        ("seed=4294967296", r"seed=4294967296 is invalid"),
        ("trainer.log_every_n_steps=0", r"trainer\.log_every_n_steps=0 is invalid"),
        ("trainer.accumulate_grad_batches=0", r"trainer\.accumulate_grad_batches=0 is invalid"),
        ("trainer.max_time=1h", r"trainer\.max_time='1h' is invalid: write it as DD:HH:MM:SS"),
        ("trainer.devices=0", r"trainer\.devices=0 is invalid"),
        ("trainer.devices=[]", r"trainer\.devices=\[\] is invalid"),
    ],
)
def test_values_out_of_range_are_refused_by_key_before_anything_starts(train_config, override, message):
    with pytest.raises(InvalidInputError, match=message):
        check_train_config(train_config(override))


@pytest.mark.parametrize("devices", ["auto", -1, 2, [0, 1], "0,1"])
def test_every_form_of_devices_lightning_takes_is_accepted(train_config, devices):
    cfg = train_config()
    cfg.trainer.devices = devices
    check_train_config(cfg)
    check_train_config(train_config("trainer.max_time=00:01:30:00"))
