"""The disent library's own code for what the benchmarks compare against, run in the same process
when disent is installed: its DataLoader (images/s), its β-VAE's training steps (steps/s), its
disentanglement metrics (seconds) and its ``compute_factor_distances`` (the reference
implementation of the paper's Fig. 4 distances).
Without disent the benchmarks print the figures recorded for the project's 2-core CPU instead.

disent needs torchvision, which this project does not; ``make benchmark-disent`` builds an
environment with both (torch 2.14.1, torchvision 0.29.1, disent 0.8.0 and the project) and runs the
benchmarks there.
For the distances, the benchmark's conv64 β-VAE weights are copied into disent's own
``EncoderConv64`` and ``DecoderConv64``, disent sees the same standardised XYSquares, and the
traversals it draws are recorded, so overlapvae's columns on exactly those traversals can be
compared with its matrices.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from functools import partial

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from overlapvae.analysis import COLUMNS, traversal_model_matrices
from overlapvae.data import XYSquares
from overlapvae.frameworks import BetaVAE

#: Model pairs per pass, as disent's ``VaeGtDistsLoggingCallback`` sets it.
PAIRS_PER_PASS = 128
#: disent's DataLoader (2 workers) on the project's 2-core CPU machines, for when it is not installed.
RECORDED_LOADER_IMAGES_PER_SECOND = 8_600


def disent_installed() -> bool:
    return importlib.util.find_spec("disent") is not None


def reference_figure(measure: Callable[[], float], recorded: float) -> tuple[float, str]:
    """disent's figure measured now by ``measure`` if disent is installed, else the recorded one,
    with a label that says which."""
    if disent_installed():
        return measure(), "disent, this process"
    return recorded, "disent, recorded"


def standardised_xysquares(data: XYSquares) -> object:
    """disent's XYSquares with ``data``'s square size, spacing and positions, standardised with
    ``data``'s constants, as a ``DisentDataset``."""
    from disent.dataset import DisentDataset
    from disent.dataset.data import XYSquaresData
    from disent.dataset.transform import ToImgTensorF32

    theirs = XYSquaresData(
        square_size=data.square_size, grid_spacing=data.grid_spacing, grid_size=data.positions
    )
    if tuple(theirs.factor_sizes) != tuple(data.factor_sizes):
        raise ValueError(
            f"disent's XYSquares has factor sizes {theirs.factor_sizes}, not {data.factor_sizes}"
        )
    return DisentDataset(theirs, transform=ToImgTensorF32(mean=data.mean, std=data.std))


def loader_images_per_second(data: XYSquares, batch_size: int, workers: int = 2, batches: int = 30) -> float:
    """Images/s of disent's XYSquares through a shuffling ``DataLoader`` with ``workers`` workers,
    after three untimed batches."""
    dataset = standardised_xysquares(data)
    loader = iter(DataLoader(dataset, batch_size, shuffle=True, num_workers=workers))
    for _ in range(3):
        next(loader)
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * batch_size / (time.perf_counter() - start)


def loader_reference(batch_size: int) -> tuple[float, str]:
    """disent's DataLoader images/s on the benchmarks' XYSquares (measured, or the recorded figure)
    and which of the two it is."""
    return reference_figure(
        lambda: loader_images_per_second(XYSquares(grid_spacing=8, grid_size=8), batch_size),
        RECORDED_LOADER_IMAGES_PER_SECOND,
    )


def training_steps_per_second(
    data: XYSquares, batch_size: int, clock: L.Callback, steps: int, latent_size: int = 25, workers: int = 2
) -> float:
    """Steps/s of disent's conv64 β-VAE (MSE, Adam 1e-3) trained by Lightning on its XYSquares
    loader, timed by ``clock`` (a callback with ``warmup`` and ``seconds``) over ``steps`` steps."""
    from disent.frameworks.vae import BetaVae
    from disent.model import AutoEncoder
    from disent.model.ae import DecoderConv64, EncoderConv64

    torch.manual_seed(0)
    model = AutoEncoder(
        encoder=EncoderConv64(x_shape=data.image_shape, z_size=latent_size, z_multiplier=2),
        decoder=DecoderConv64(x_shape=data.image_shape, z_size=latent_size),
    )
    config = BetaVae.cfg(optimizer="adam", optimizer_kwargs={"lr": 1e-3}, recon_loss="mse")
    trainer = L.Trainer(
        max_steps=clock.warmup + steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
    )
    loader = DataLoader(
        standardised_xysquares(data),
        batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    trainer.fit(BetaVae(model=model, cfg=config), loader)
    return steps / clock.seconds


def metric_runs(data: XYSquares, encode: Callable[[Tensor], Tensor], metrics: dict) -> dict[str, tuple]:
    """``{name: (seconds, scores)}``: disent's own implementation of each metric of ``metrics`` (an
    overlapvae suite's metric objects, whose sizes it is given) on its XYSquares standardised like
    ``data``, with ``encode`` (observations → codes) as the representation. disent has no β-VAE
    score, so that one is left out. numpy's global generator is seeded with 0 before each metric."""
    from disent.metrics import metric_dci, metric_factor_vae, metric_mig, metric_sap, metric_unsupervised

    calls = {
        "mig": lambda m: partial(metric_mig, num_train=m.num_train),
        "dci": lambda m: partial(metric_dci, num_train=m.num_train, num_test=m.num_test),
        "sap": lambda m: partial(
            metric_sap, num_train=m.num_train, num_test=m.num_test, continuous_factors=m.continuous_factors
        ),
        "factor_vae": lambda m: partial(
            metric_factor_vae,
            batch_size=m.batch_size,
            num_train=m.num_train,
            num_eval=m.num_eval,
            num_variance_estimate=m.num_variance_estimate,
        ),
        "unsupervised": lambda m: partial(metric_unsupervised, num_train=m.num_train),
    }
    dataset = standardised_xysquares(data)
    results = {}
    for name, metric in metrics.items():
        if name not in calls:
            continue
        run = calls[name](metric)
        np.random.seed(0)  # noqa: NPY002 (disent draws from numpy's global generator)
        start = time.perf_counter()
        with torch.no_grad():
            scores = run(dataset, encode)
        results[name] = (time.perf_counter() - start, scores)
    return results


class DisentReference:
    """disent's data set, β-VAE and distance function, set up as the benchmark's own, drawing
    ``traversals`` traversals per factor from numpy's global generator seeded with ``seed``."""

    def __init__(self, data: XYSquares, model: BetaVAE, traversals: int, seed: int = 7777) -> None:
        from disent.frameworks.vae import BetaVae
        from disent.model import AutoEncoder
        from disent.model.ae import DecoderConv64, EncoderConv64
        from disent.util.lightning.callbacks._callback_vis_dists import _get_dists_fn

        self.data, self.model, self.repeats, self.seed = data, model, traversals, seed
        self.dataset = standardised_xysquares(data)
        latent_size = model.model.latent_size
        encoder = EncoderConv64(x_shape=data.image_shape, z_size=latent_size, z_multiplier=2)
        decoder = DecoderConv64(x_shape=data.image_shape, z_size=latent_size)
        encoder.model.load_state_dict(model.model.encoder.state_dict())
        decoder.model.load_state_dict(model.model.decoder.state_dict())
        config = BetaVae.cfg(recon_loss="mse", loss_reduction="mean", beta=model.beta)
        self.framework = BetaVae(model=AutoEncoder(encoder=encoder, decoder=decoder), cfg=config).eval()
        self.names, self.distances = _get_dists_fn(self.framework)
        self.traversals: list[np.ndarray] = []
        ground_truth = self.dataset.gt_data
        draw = ground_truth.sample_random_factor_traversal

        def recording_draw(*args: object, **kwargs: object) -> np.ndarray:
            traversal = draw(*args, **kwargs)
            self.traversals.append(np.array(traversal))
            return traversal

        ground_truth.sample_random_factor_traversal = recording_draw

    def check_images(self) -> float:
        """The largest difference between disent's and overlapvae's standardised images of 64 states."""
        factors = self.data.sample_factors(64, torch.Generator().manual_seed(0))
        indices = self.dataset.gt_data.pos_to_idx(factors.numpy())
        theirs = self.dataset.dataset_batch_from_indices(indices, "input")
        return float((theirs - self.data.render_float(factors, standardise=True)).abs().max())

    @torch.no_grad()
    def run(self) -> dict[str, dict[str, np.ndarray]]:
        """``{factor: {column: [f, f]}}`` from disent, recording the traversals it draws."""
        from disent.util.lightning.callbacks._callback_vis_dists import compute_factor_distances

        self.traversals.clear()
        names, grid = compute_factor_distances(
            dataset=self.dataset,
            dists_fn=self.distances,
            dists_names=self.names,
            traversal_repeats=self.repeats,
            batch_size=PAIRS_PER_PASS,
            seed=self.seed,
            data_mode="input",
        )
        return {
            factor: dict(zip(names, matrices, strict=True))
            for factor, matrices in zip(self.data.factor_names, grid, strict=True)
        }

    def overlapvae_on_recorded(self) -> dict[str, dict[str, np.ndarray]]:
        """overlapvae's matrices on the traversals of disent's last run."""
        result = {}
        for index, factor in enumerate(self.data.factor_names):
            drawn = self.traversals[index * self.repeats : (index + 1) * self.repeats]
            traversals = torch.as_tensor(np.stack(drawn))
            matrices = traversal_model_matrices(self.model.eval(), self.data, traversals, standardise=True)
            result[factor] = {name: matrix.numpy() for name, matrix in matrices.items()}
        return result


def largest_relative_difference(
    theirs: dict[str, dict[str, np.ndarray]], ours: dict[str, dict[str, np.ndarray]]
) -> dict[str, float]:
    """Per model column, the largest |ours − disent's| over every factor's matrix, relative to the
    largest entry of disent's matrix."""
    return {
        column: max(
            float(np.abs(ours[factor][column] - matrices[column]).max() / np.abs(matrices[column]).max())
            for factor, matrices in theirs.items()
        )
        for column in COLUMNS
    }
