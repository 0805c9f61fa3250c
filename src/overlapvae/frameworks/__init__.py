"""Frameworks: LightningModules that combine a model and a loss (AE, VAE, β-VAE, β-TCVAE)."""

from overlapvae.frameworks.autoencoder import AutoEncoder
from overlapvae.frameworks.betatcvae import BetaTCVAE
from overlapvae.frameworks.vae import VAE, BetaVAE

__all__ = ["VAE", "AutoEncoder", "BetaTCVAE", "BetaVAE"]
