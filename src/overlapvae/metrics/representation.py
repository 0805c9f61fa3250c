"""The representation a trained model gives the metrics: factors → rendered images → codes.

``EncodedRepresentation`` renders the requested observations on the model's device, encodes them
in large no-grad batches and keeps every posterior it computed in a table indexed by observation,
so each observation is encoded at most once per evaluation however many metrics ask for it.
``encode_all`` fills the table in one sweep when the metrics would ask for more codes than the
data set holds (FactorVAE at reference size alone asks for about a million).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from overlapvae.data.base import GroundTruthData
from overlapvae.utils.validation import InvalidInputError

#: Images ``float [B, C, H, W]`` → posterior mean and log-variance ``[B, z]`` (``None`` for an AE):
#: a framework's ``posterior``.
Encoder = Callable[[Tensor], tuple[Tensor, Tensor | None]]


class EncodedRepresentation:
    """A metric ``Representation`` backed by a model: ``representation(factors) -> codes``.

    ``sampled=False`` returns posterior means (the reference representation); ``sampled=True``
    draws ``mean + std · ε`` with noise from a generator seeded by ``seed``. ``cache=False``
    encodes every request afresh (the straightforward implementation, for comparison).
    """

    def __init__(
        self,
        encode: Encoder,
        data: GroundTruthData,
        device: torch.device | str = "cpu",
        standardise: bool = True,
        sampled: bool = False,
        seed: int = 0,
        batch_size: int = 1024,
        cache: bool = True,
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch_size={batch_size} is invalid: choose an integer >= 1")
        self.encode = encode
        self.data = data
        self.device = torch.device(device)
        self.standardise = standardise
        self.sampled = sampled
        self.batch_size = batch_size
        self.cache = cache
        self.num_encoded = 0
        self._noise = np.random.default_rng(seed)
        self._means: np.ndarray | None = None
        self._log_variances: np.ndarray | None = None
        self._known = np.zeros(data.num_observations, dtype=bool)

    def _images(self, indices: np.ndarray) -> Tensor:
        index_tensor = torch.from_numpy(indices).to(self.device)
        return self.data.render_float(self.data.indices_to_factors(index_tensor), self.standardise)

    def _encode_indices(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        means, log_variances = [], []
        with torch.inference_mode():
            for start in range(0, len(indices), self.batch_size):
                mean, log_variance = self.encode(self._images(indices[start : start + self.batch_size]))
                means.append(mean.float().cpu().numpy())
                if log_variance is not None:
                    log_variances.append(log_variance.float().cpu().numpy())
        self.num_encoded += len(indices)
        latent = means[0].shape[1] if means else 0
        mean_array = np.concatenate(means) if means else np.empty((0, latent), np.float32)
        return mean_array, (np.concatenate(log_variances) if log_variances else None)

    def _fill(self, indices: np.ndarray) -> None:
        """Encode the observations among ``indices`` not yet in the table."""
        missing = np.unique(indices[~self._known[indices]])
        if missing.size == 0:
            return
        means, log_variances = self._encode_indices(missing)
        if self._means is None:
            self._means = np.empty((self.data.num_observations, means.shape[1]), np.float32)
            if log_variances is not None:
                self._log_variances = np.empty_like(self._means)
        self._means[missing] = means
        if self._log_variances is not None and log_variances is not None:
            self._log_variances[missing] = log_variances
        self._known[missing] = True

    def encode_all(self) -> None:
        """Encode every observation of the data set once, in index order."""
        self._fill(np.arange(self.data.num_observations))

    def __call__(self, factors: np.ndarray) -> np.ndarray:
        factors = np.asarray(factors, dtype=np.int64)
        try:
            indices = np.ravel_multi_index(tuple(factors.T), self.data.factor_sizes)
        except ValueError as error:
            raise InvalidInputError(
                f"factors outside the grid {self.data.factor_sizes} of {type(self.data).__name__}: {error}"
            ) from error
        if self.cache:
            self._fill(indices)
            means = self._means[indices] if self._means is not None else np.empty((0, 0), np.float32)
            log_variances = None if self._log_variances is None else self._log_variances[indices]
        else:
            means, log_variances = self._encode_indices(indices)
        if not self.sampled:
            return means
        if log_variances is None:
            raise InvalidInputError(
                "a deterministic autoencoder has no posterior to sample: use representation=mean"
            )
        return means + np.exp(0.5 * log_variances) * self._noise.standard_normal(means.shape)
