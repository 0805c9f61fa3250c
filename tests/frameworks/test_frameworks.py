"""Frameworks: the loss each optimises, the paper's β normalisation, and running-mean logging."""

import csv
from functools import partial

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger

from overlapvae.data import GroundTruthDataModule, XYSquares
from overlapvae.frameworks import VAE, AutoEncoder, BetaTCVAE, BetaVAE
from overlapvae.losses import MSELoss, gaussian_log_density
from overlapvae.models import FullyConnected

IMAGE_SHAPE = (1, 8, 8)


def make(framework, reduction="mean", **kwargs):
    torch.manual_seed(0)
    return framework(
        model=partial(FullyConnected, latent_size=4, hidden_sizes=(16,)),
        recon_loss=MSELoss(reduction=reduction),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=IMAGE_SHAPE,
        **kwargs,
    )


def reference_terms(framework, x, seed):
    """Recompute recon and KL by hand with the framework's own posterior and noise."""
    torch.manual_seed(seed)
    mean, log_variance = framework.posterior(x)
    z = framework.sample(mean, log_variance)
    recon_elements = (framework.model.decode(z) - x).square()
    kl_elements = 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance)
    return recon_elements, kl_elements


def test_beta_vae_loss_uses_the_papers_mean_normalisation():
    framework = make(BetaVAE, beta=0.25)
    x = torch.randn(6, *IMAGE_SHAPE)
    torch.manual_seed(7)
    terms = framework.loss_terms(x)
    recon_elements, kl_elements = reference_terms(framework, x, 7)
    recon, kl = recon_elements.mean(), kl_elements.mean()  # over B·C·H·W and over B·z
    assert torch.allclose(terms["recon"], recon) and torch.allclose(terms["kl"], kl)
    assert torch.allclose(terms["loss"], recon + 0.25 * kl)
    assert torch.allclose(terms["elbo"], -(recon + kl))
    assert framework.hparams["beta_sum_equivalent"] == pytest.approx(0.25 * 64 / 4)  # β · C·H·W / z


def test_sample_sum_reduction_sums_each_sample_and_keeps_beta():
    framework = make(BetaVAE, reduction="sample_sum", beta=2.0)
    x = torch.randn(5, *IMAGE_SHAPE)
    torch.manual_seed(3)
    terms = framework.loss_terms(x)
    recon_elements, kl_elements = reference_terms(framework, x, 3)
    expected = recon_elements.flatten(1).sum(1).mean() + 2.0 * kl_elements.sum(1).mean()
    assert torch.allclose(terms["loss"], expected)
    assert framework.hparams["beta_sum_equivalent"] == 2.0


def test_vae_is_beta_one_and_encodes_the_posterior_mean():
    vae = make(VAE)
    x = torch.randn(3, *IMAGE_SHAPE)
    assert torch.equal(vae.encode(x), vae.posterior(x)[0])
    torch.manual_seed(2)
    terms = vae.loss_terms(x)
    assert torch.allclose(terms["loss"], terms["recon"] + terms["kl"])


def test_autoencoder_minimises_reconstruction_only():
    autoencoder = make(AutoEncoder)
    x = torch.randn(4, *IMAGE_SHAPE)
    terms = autoencoder.loss_terms(x)
    assert torch.allclose(terms["loss"], (autoencoder.reconstruct(x) - x).square().mean())
    assert autoencoder.encode(x).shape == (4, 4)


def test_beta_tcvae_weights_the_three_kl_parts():
    framework = make(BetaTCVAE, alpha=0.5, beta=3.0, gamma=0.25, dataset_size=1000)
    x = torch.randn(16, *IMAGE_SHAPE)
    torch.manual_seed(5)
    terms = framework.loss_terms(x)
    expected = terms["recon"] + 0.5 * terms["mi"] + 3.0 * terms["tc"] + 0.25 * terms["dwkl"]
    assert torch.allclose(terms["loss"], expected)
    torch.manual_seed(5)
    mean, log_variance = framework.posterior(x)
    z = framework.sample(mean, log_variance)
    monte_carlo_kl = (
        gaussian_log_density(z, mean, log_variance) - gaussian_log_density(z, 0 * z, 0 * z)
    ).sum(1)
    assert torch.allclose(terms["mi"] + terms["tc"] + terms["dwkl"], monte_carlo_kl.mean() / 4, atol=1e-5)


def test_invalid_framework_arguments_are_refused():
    with pytest.raises(ValueError, match="reduction='none' cannot train"):
        make(BetaVAE, reduction="none")
    with pytest.raises(ValueError, match="beta=-1"):
        make(BetaVAE, beta=-1)
    with pytest.raises(ValueError, match="estimator='abc'"):
        make(BetaTCVAE, estimator="abc", dataset_size=1000)
    with pytest.raises(ValueError, match="dataset_size=1 is invalid"):
        make(BetaTCVAE, dataset_size=1)


class LossRecorder(Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


def test_training_logs_running_means_of_the_terms(tmp_path):
    data = XYSquares(image_size=8, square_size=2, rgb=False, num_squares=1)
    framework = make(BetaTCVAE, dataset_size=data.num_observations)
    datamodule = GroundTruthDataModule(data, standardise=True, batch_size=8, steps_per_epoch=8)
    recorder = LossRecorder()
    logger = CSVLogger(tmp_path, name="", version="")
    trainer = L.Trainer(
        max_steps=8,
        log_every_n_steps=4,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[recorder],
    )
    trainer.fit(framework, datamodule=datamodule)
    rows = [row for row in csv.DictReader((tmp_path / "metrics.csv").open()) if row.get("train/loss")]
    assert [int(row["step"]) for row in rows] == [3, 7]
    assert float(rows[0]["train/loss"]) == pytest.approx(sum(recorder.losses[:4]) / 4, rel=1e-6)
    assert float(rows[1]["train/loss"]) == pytest.approx(sum(recorder.losses[4:8]) / 4, rel=1e-6)
