"""Training callbacks: checkpoints, the non-finite loss guard, images, model acceleration."""

from overlapvae.callbacks.acceleration import ModelAcceleration
from overlapvae.callbacks.checkpoint import LastCheckpoint
from overlapvae.callbacks.images import ReconstructionImages
from overlapvae.callbacks.nonfinite import NonFiniteLossError, NonFiniteLossGuard

__all__ = [
    "LastCheckpoint",
    "ModelAcceleration",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "ReconstructionImages",
]
