"""overlapvae: see why a VAE disentangles (Michlo, Klein & James, IJCAI 2023)."""

__version__ = "0.1.0"
