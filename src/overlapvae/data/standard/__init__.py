"""The downloaded benchmarks of PAPER §2.3, converted once and cached (``overlapvae-prepare``)."""

from overlapvae.data.standard.data import StandardData, prepare_standard, standard_spec
from overlapvae.data.standard.registry import STANDARD_DATASETS
from overlapvae.data.standard.spec import StandardSpec
