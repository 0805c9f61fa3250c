"""Training callbacks: checkpoints (atomic), the non-finite loss guard, the run health check, images,
model distances, model acceleration, and what a resumed run restores (random streams, CSV history)."""

from overlapvae.callbacks.acceleration import ModelAcceleration
from overlapvae.callbacks.checkpoint import AtomicCheckpointIO, LastCheckpoint
from overlapvae.callbacks.csv_history import AppendingCSVLogger, CSVHistory
from overlapvae.callbacks.distances import ModelDistanceFigures
from overlapvae.callbacks.health import ReconstructionHealth
from overlapvae.callbacks.images import ReconstructionImages
from overlapvae.callbacks.nonfinite import NonFiniteLossError, NonFiniteLossGuard
from overlapvae.callbacks.random_streams import RandomStreams

__all__ = [
    "AppendingCSVLogger",
    "AtomicCheckpointIO",
    "CSVHistory",
    "LastCheckpoint",
    "ModelAcceleration",
    "ModelDistanceFigures",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "RandomStreams",
    "ReconstructionHealth",
    "ReconstructionImages",
]
