"""overlapvae's Hydra launcher plugins (Hydra loads launcher classes only from ``hydra_plugins``)."""
