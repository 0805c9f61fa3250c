"""Ground-truth data: factor grids, batch renderers, standardisation and the data module."""

from overlapvae.data.array import ArrayData
from overlapvae.data.base import GroundTruthData
from overlapvae.data.datamodule import GroundTruthDataModule
from overlapvae.data.own import FolderData, NpzData
from overlapvae.data.standard import StandardData
from overlapvae.data.standardise import destandardise, standardise
from overlapvae.data.xyobject import XYObject, XYObjectShaded
from overlapvae.data.xysquares import XYSquares, XYSquaresMinimal
