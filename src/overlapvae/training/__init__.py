"""Everything Lightning runs beside a framework: the trainer factory, checkpoints (atomic), the
non-finite loss guard, the run health check, images, model distances, the metrics schedule, model
acceleration, pre-emption, and what a resumed run restores (random streams, CSV history)."""

from overlapvae.training.acceleration import ModelAcceleration
from overlapvae.training.checkpoint import AtomicCheckpointIO, LastCheckpoint
from overlapvae.training.csv_history import AppendingCSVLogger, CSVHistory
from overlapvae.training.disentanglement import DisentanglementMetrics
from overlapvae.training.distances import ModelDistanceFigures
from overlapvae.training.finish import FinishFromLastStep
from overlapvae.training.health import ReconstructionHealth
from overlapvae.training.images import ReconstructionImages
from overlapvae.training.nonfinite import NonFiniteLossError, NonFiniteLossGuard
from overlapvae.training.preemption import StopOnSignal, StoppedBySignalError
from overlapvae.training.random_streams import RandomStreams
from overlapvae.training.trainer import make_trainer

__all__ = [
    "AppendingCSVLogger",
    "AtomicCheckpointIO",
    "CSVHistory",
    "DisentanglementMetrics",
    "FinishFromLastStep",
    "LastCheckpoint",
    "ModelAcceleration",
    "ModelDistanceFigures",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "RandomStreams",
    "ReconstructionHealth",
    "ReconstructionImages",
    "StopOnSignal",
    "StoppedBySignalError",
    "make_trainer",
]
