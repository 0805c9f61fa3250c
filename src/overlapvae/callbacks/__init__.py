"""Training callbacks: checkpoints, the non-finite loss guard, the run health check, images, model
distances, model acceleration."""

from overlapvae.callbacks.acceleration import ModelAcceleration
from overlapvae.callbacks.checkpoint import LastCheckpoint
from overlapvae.callbacks.distances import ModelDistanceFigures
from overlapvae.callbacks.health import ReconstructionHealth
from overlapvae.callbacks.images import ReconstructionImages
from overlapvae.callbacks.nonfinite import NonFiniteLossError, NonFiniteLossGuard

__all__ = [
    "LastCheckpoint",
    "ModelAcceleration",
    "ModelDistanceFigures",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "ReconstructionHealth",
    "ReconstructionImages",
]
