"""Every downloadable benchmark by name (the ``dataset.name`` of the configs)."""

from __future__ import annotations

from overlapvae.data.standard.cars3d import SPEC as CARS3D
from overlapvae.data.standard.dsprites import SPEC as DSPRITES
from overlapvae.data.standard.mpi3d import SPECS as MPI3D
from overlapvae.data.standard.shapes3d import SPEC as SHAPES3D
from overlapvae.data.standard.smallnorb import SPEC as SMALLNORB
from overlapvae.data.standard.spec import StandardSpec

STANDARD_DATASETS: dict[str, StandardSpec] = {
    spec.name: spec for spec in (DSPRITES, SHAPES3D, CARS3D, SMALLNORB, *MPI3D)
}
