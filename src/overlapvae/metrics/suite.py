"""A metric preset (``conf/metrics/``): named metrics evaluated on one shared representation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from overlapvae.data.base import GroundTruthData
from overlapvae.metrics.base import Metric
from overlapvae.metrics.representation import EncodedRepresentation, Encoder
from overlapvae.utils.seeding import derive_seed
from overlapvae.utils.validation import InvalidInputError

log = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Scores as ``{"<metric>.<score>": value}``, failures as ``{metric: error}``, and seconds per metric."""

    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    num_encoded: int = 0


class MetricSuite:
    """Evaluate ``metrics`` on a model's representation of a ground-truth data set.

    Every metric gets a fresh ``np.random.default_rng(random_seed)`` (disentanglement_lib passes each
    metric ``RandomState(0)``), so metrics sampling the same sizes see the same points and share
    their codes. With ``encode_once=None`` the whole data set is encoded up front when the
    metrics would request more codes than it holds; ``True``/``False`` force either way.
    """

    def __init__(
        self,
        metrics: dict[str, Metric] | None = None,
        representation: Literal["mean", "sampled"] = "mean",
        random_seed: int = 0,
        encode_batch_size: int = 1024,
        encode_once: bool | None = None,
    ) -> None:
        if representation not in ("mean", "sampled"):
            raise InvalidInputError(
                f"representation={representation!r} is invalid: choose 'mean' or 'sampled'"
            )
        self.metrics = dict(metrics or {})
        for name, metric in self.metrics.items():
            if not isinstance(metric, Metric):
                raise TypeError(f"metric {name!r} is a {type(metric).__name__}, not an overlapvae Metric")
        self.representation = representation
        self.random_seed = random_seed
        self.encode_batch_size = encode_batch_size
        self.encode_once = encode_once

    def requested_observations(self, names: Iterable[str] | None = None) -> int:
        """Codes the named metrics (default: all) request together, counting repeats."""
        chosen = self.metrics if names is None else names
        return sum(self.metrics[name].num_observations for name in chosen)

    def gives_the_same_values_as(self, other: MetricSuite) -> bool:
        """Whether this suite evaluates exactly what ``other`` does: the same metrics and sizes, the
        same seed and a deterministic (mean) representation, so one's values stand for the other's."""
        return (
            self.metrics == other.metrics
            and self.random_seed == other.random_seed
            and self.representation == other.representation == "mean"
        )

    def evaluate(
        self,
        encode: Encoder,
        data: GroundTruthData,
        device: torch.device | str = "cpu",
        standardise: bool = True,
        names: Iterable[str] | None = None,
        cache: bool = True,
    ) -> Evaluation:
        """Run the named metrics (default: all); a metric that raises is recorded, not re-raised."""
        chosen = list(self.metrics if names is None else names)
        representation = EncodedRepresentation(
            encode,
            data,
            device,
            standardise=standardise,
            sampled=self.representation == "sampled",
            seed=derive_seed(self.random_seed, "representation"),
            batch_size=self.encode_batch_size,
            cache=cache,
        )
        evaluation = Evaluation()
        encode_once = self.encode_once
        if encode_once is None:
            encode_once = self.requested_observations(chosen) > data.num_observations
        if cache and encode_once and chosen:
            started = time.perf_counter()
            representation.encode_all()
            evaluation.seconds["encode_all"] = time.perf_counter() - started
        for name in chosen:
            started = time.perf_counter()
            try:
                scores = self.metrics[name](
                    representation, data.factor_sizes, np.random.default_rng(self.random_seed)
                )
            except Exception as error:  # recorded, so one failing metric cannot end a run
                evaluation.errors[name] = f"{type(error).__name__}: {error}"
                log.warning("metric %s failed: %s", name, evaluation.errors[name])
            else:
                evaluation.values.update({f"{name}.{key}": float(value) for key, value in scores.items()})
            evaluation.seconds[name] = time.perf_counter() - started
        evaluation.num_encoded = representation.num_encoded
        return evaluation
