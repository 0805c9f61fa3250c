"""Ground-truth data: factor grids, batch renderers, standardisation and the data module."""

from overlapvae.data.base import GroundTruthData
from overlapvae.data.datamodule import GroundTruthDataModule
from overlapvae.data.standardise import destandardise, standardise
from overlapvae.data.xyobject import XYObject, XYObjectShaded
from overlapvae.data.xysquares import XYSquares, XYSquaresMinimal

__all__ = [
    "GroundTruthData",
    "GroundTruthDataModule",
    "XYObject",
    "XYObjectShaded",
    "XYSquares",
    "XYSquaresMinimal",
    "destandardise",
    "standardise",
]
