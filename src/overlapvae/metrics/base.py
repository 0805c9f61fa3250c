"""The metric interface: a configured metric samples what it needs and returns named scores."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from overlapvae.metrics.sampling import Representation, check_count, sample_codes


class Metric(ABC):
    """A metric with its sample sizes fixed (one entry of a preset such as ``metrics/reference``).

    Calling it samples factors with ``rng``, asks ``representation`` for their codes and returns
    ``{score name: value}``. ``num_observations`` is how many codes it requests in all, so an
    evaluation can decide whether encoding the whole data set once is cheaper.
    """

    @property
    @abstractmethod
    def num_observations(self) -> int:
        """Codes requested per call (with repeats)."""

    @abstractmethod
    def __call__(
        self, representation: Representation, factor_sizes: Sequence[int], rng: np.random.Generator
    ) -> dict[str, float]:
        """Sample, encode and score."""


@dataclass
class HistogramMetric(Metric):
    """A score of the codes of ``num_train`` uniformly sampled points, each code dimension
    discretised into ``num_bins`` equal-width bins (disentanglement_lib: 10,000 points, 20 bins)."""

    num_train: int = 10_000
    num_bins: int = 20
    min_points: ClassVar[int] = 2

    def __post_init__(self) -> None:
        check_count("num_train", self.num_train, self.min_points)

    @property
    def num_observations(self) -> int:
        return self.num_train

    def __call__(
        self, representation: Representation, factor_sizes: Sequence[int], rng: np.random.Generator
    ) -> dict[str, float]:
        return self.score(*sample_codes(representation, factor_sizes, self.num_train, rng))

    @abstractmethod
    def score(self, codes: np.ndarray, factors: np.ndarray) -> dict[str, float]:
        """The scores of codes ``[N, C]`` and their factors ``[N, F]``."""


@dataclass
class TrainTestMetric(Metric):
    """A score fitted on ``num_train`` sampled points and tested on ``num_test`` more
    (disentanglement_lib: 10,000 / 5,000)."""

    num_train: int = 10_000
    num_test: int = 5_000

    def __post_init__(self) -> None:
        check_count("num_train", self.num_train, 2)
        check_count("num_test", self.num_test, 1)

    @property
    def num_observations(self) -> int:
        return self.num_train + self.num_test

    def __call__(
        self, representation: Representation, factor_sizes: Sequence[int], rng: np.random.Generator
    ) -> dict[str, float]:
        train_codes, train_factors = sample_codes(representation, factor_sizes, self.num_train, rng)
        test_codes, test_factors = sample_codes(representation, factor_sizes, self.num_test, rng)
        return self.score(train_codes, train_factors, test_codes, test_factors, rng)

    @abstractmethod
    def score(
        self,
        train_codes: np.ndarray,
        train_factors: np.ndarray,
        test_codes: np.ndarray,
        test_factors: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        """The scores of the training and test codes with their factors."""
