"""The run health check: a decoder that ignores its code is flagged collapsed, one that
reconstructs is not, and the check runs on its schedule and survives a checkpoint."""

from functools import partial

import lightning as L
import pytest
import torch
from torch import nn

from overlapvae.data import GroundTruthDataModule, XYSquares
from overlapvae.frameworks import AutoEncoder
from overlapvae.losses import L1Loss, MSELoss
from overlapvae.models.autoencoder import AutoEncoderModel
from overlapvae.training.health import ReconstructionHealth

DATA = XYSquares(square_size=2, image_size=8, grid_spacing=2, grid_size=4)


class CopyingModel(AutoEncoderModel):
    """The code is the image itself: perfect reconstructions."""

    def __init__(self, image_shape, encoder_heads=1):
        size = int(torch.tensor(image_shape).prod())
        super().__init__(nn.Flatten(), nn.Unflatten(1, tuple(image_shape)), image_shape, size, encoder_heads)
        self.unused = nn.Parameter(torch.zeros(1))  # for the optimiser; its gradient is 0

    def decode(self, z):
        return self.decoder(z) + 0.0 * self.unused


class ConstantModel(CopyingModel):
    """A decoder whose output ignores its code: a constant image (the channel means, 0 when standardised)."""

    def decode(self, z):
        return 0.0 * self.unused.expand(len(z), *self.image_shape)


def train(model, loss, every_n_steps=2, steps=4, margin=0.1):
    health = ReconstructionHealth(every_n_steps=every_n_steps, num_images=256, margin=margin)
    framework = AutoEncoder(model, loss, partial(torch.optim.SGD, lr=0.0), DATA.image_shape)
    trainer = L.Trainer(
        max_steps=steps,
        callbacks=[health],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(framework, datamodule=GroundTruthDataModule(DATA, standardise=True, batch_size=8))
    return health


@pytest.mark.parametrize("loss", [MSELoss(), L1Loss()])
def test_a_decoder_that_ignores_its_code_is_flagged_collapsed(loss, caplog):
    health = train(ConstantModel, loss)
    summary = health.summary()
    assert summary.collapsed is True and [row["step"] for row in summary.history] == [2, 4]
    assert summary.ratio >= 1.0 and summary.error >= summary.constant_error > 0
    assert "the run collapsed" in caplog.text and "not yet better than the best constant image" in caplog.text


def test_a_decoder_that_reconstructs_is_healthy(caplog):
    summary = train(CopyingModel, MSELoss()).summary()
    assert summary.collapsed is False and summary.ratio == 0.0 and summary.error == 0.0
    assert "collapsed" not in caplog.text


def test_the_margin_decides_how_much_better_than_the_constant_a_run_must_be():
    health = ReconstructionHealth(margin=0.25)
    assert health.is_collapsed(0.8) and not health.is_collapsed(0.75) and health.is_collapsed(float("nan"))
    assert not ReconstructionHealth(margin=0.0).is_collapsed(1.0)
    with pytest.raises(ValueError, match=r"margin=1.0 is invalid"):
        ReconstructionHealth(margin=1.0)
    with pytest.raises(ValueError, match=r"every_n_steps=0, num_images=64 is invalid"):
        ReconstructionHealth(every_n_steps=0, num_images=64)
    assert ReconstructionHealth().summary().collapsed is None  # no check yet


def test_the_history_survives_a_checkpoint():
    health = train(ConstantModel, MSELoss())
    restored = ReconstructionHealth()
    restored.load_state_dict(health.state_dict())
    assert restored.summary().history == health.summary().history
