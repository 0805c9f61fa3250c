"""A non-finite loss stops training cleanly; checkpoints and images land in the run dir."""

import json

import pytest
import torch
from matplotlib import image as mpl_image

from overlapvae.experiment.jobs.train import build, train
from overlapvae.frameworks import VAE
from overlapvae.training.nonfinite import NonFiniteLossError


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(train_config, tmp_path, monkeypatch):
    cfg = train_config("trainer.max_steps=20", "callbacks.last_checkpoint.every_n_train_steps=5")
    real_loss_terms = VAE.loss_terms

    def poisoned(self, x):
        terms = real_loss_terms(self, x)
        if self.global_step == 6:  # the 7th training step
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(VAE, "loss_terms", poisoned)
    with pytest.raises(NonFiniteLossError) as raised:
        train(cfg)
    message = str(raised.value)
    assert "non-finite at step 7" in message
    assert "last finite losses (step 6): loss=" in message and "recon=" in message and "kl=" in message
    assert "last good checkpoint is" in message
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 5
    assert all(torch.isfinite(value).all() for value in checkpoint["state_dict"].values())
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["status"] == "failed" and "NonFiniteLossError" in summary["error"]


def test_the_last_checkpoint_holds_the_final_step(train_config, tmp_path):
    cfg = train_config("trainer.max_steps=13", "callbacks.last_checkpoint.every_n_train_steps=5")
    run = build(cfg)
    run.trainer.fit(run.framework, datamodule=run.datamodule)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 13
    assert "generator" in checkpoint["GroundTruthDataModule"]  # the data stream resumes too


def test_reconstruction_grids_are_written_as_png(train_config, tmp_path):
    cfg = train_config(
        "trainer.max_steps=12",
        "callbacks.images.every_n_steps=5",
        "callbacks.images.num_images=4",
        "callbacks.images.traversal_steps=6",
    )
    run = build(cfg)
    run.trainer.fit(run.framework, datamodule=run.datamodule)
    written = sorted(path.name for path in (tmp_path / "images").glob("*.png"))
    assert written == ["step_0000005.png", "step_0000010.png", "step_0000012.png"]
    grid = mpl_image.imread(tmp_path / "images" / "step_0000012.png")
    rows, columns = 2 + 4, 6  # inputs, reconstructions, then one row per latent dimension (z = 4)
    assert grid.shape[:2] == (2 + rows * 66, 2 + columns * 66)
    assert grid.min() >= 0.0 and grid.max() <= 1.0
