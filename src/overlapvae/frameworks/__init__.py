"""Frameworks: LightningModules that combine a model and a loss (AE, VAE, β-VAE, β-TCVAE, Ada-GVAE)."""

from overlapvae.frameworks.adagvae import AdaGVAE
from overlapvae.frameworks.autoencoder import AutoEncoder
from overlapvae.frameworks.betatcvae import BetaTCVAE
from overlapvae.frameworks.vae import VAE, BetaVAE
