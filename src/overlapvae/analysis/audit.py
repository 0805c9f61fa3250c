"""The overlap audit of a data set under one or more losses, before any training.

For every varying factor: the averaged traversal matrices D(i) (§3.2), the factor importance of
Table A1 (§3.4), the rank and linear correlation of d_pcv with d_gt over the same within-traversal
pairs, the triplet agreement within traversals (§3.6), and a verdict (:mod:`.verdict`). A
``random`` row per loss gives the same statistics over pairs and triplets of random observations.
Every pair of losses is compared over the same pairs (:mod:`.loss_comparison`). Each component
draws from its own seeded stream, so adding a loss or a factor changes nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from overlapvae.analysis.correlation import (
    agreement,
    linear_correlation,
    rank_correlation,
    traversal_triplet_agreement,
)
from overlapvae.analysis.importance import PairDistances, pair_distances, random_pairs, within_traversal_pairs
from overlapvae.analysis.loss_comparison import LossComparison, compare_losses
from overlapvae.analysis.overlap import interval_overlap
from overlapvae.analysis.traversals import traversal_distances, varying_factors
from overlapvae.analysis.verdict import VerdictThresholds, classify, coefficient_of_variation, explain
from overlapvae.data import GroundTruthData
from overlapvae.losses import ReconstructionLoss
from overlapvae.utils.seeding import derive_seed
from overlapvae.utils.validation import InvalidInputError

#: The name of the random-pair rows, beside the factor names.
RANDOM = "random"


@dataclass
class FactorReport:
    """One loss on one factor (or on random pairs, ``factor == "random"``, with no verdict)."""

    loss: str
    factor: str
    size: int | None
    mean: float
    std: float
    cv: float
    rank_correlation: float | None
    linear_correlation: float | None
    triplet_agreement: float | None
    verdict: str | None = None
    explanation: str | None = None


@dataclass
class DataAudit:
    """Everything ``overlapvae-audit`` writes about a data set (figures are drawn from ``matrices``)."""

    factor_names: list[str]
    losses: list[str]
    reports: list[FactorReport]
    matrices: dict[str, dict[str, np.ndarray]]
    settings: dict[str, Any]
    skipped_factors: dict[str, str] = field(default_factory=dict)
    overlap_1d: dict[str, float] | None = None
    comparisons: list[LossComparison] = field(default_factory=list)

    def report(self, loss: str, factor: str) -> FactorReport:
        for report in self.reports:
            if report.loss == loss and report.factor == factor:
                return report
        raise KeyError(f"no report for loss {loss!r} and factor {factor!r}")

    def verdict_lines(self) -> list[str]:
        lines = []
        for loss in self.losses:
            lines.append(f"[{loss}]")
            lines += [f"  {r.explanation}" for r in self.reports if r.loss == loss and r.explanation]
        for comparison in self.comparisons:
            lines += [f"[{comparison.loss} vs {comparison.other}]", f"  {comparison.verdict}"]
        lines += [f"skipped {name}: {reason}" for name, reason in self.skipped_factors.items()]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "factors": self.factor_names,
            "losses": self.losses,
            "reports": [asdict(report) for report in self.reports],
            "matrices": {
                factor: {name: matrix.tolist() for name, matrix in matrices.items()}
                for factor, matrices in self.matrices.items()
            },
            "settings": self.settings,
            "skipped_factors": self.skipped_factors,
            "overlap_1d": self.overlap_1d,
            "comparisons": [{**asdict(c), "same_order": c.same_order} for c in self.comparisons],
            "verdict": self.verdict_lines(),
        }


def _generator(seed: int, device: torch.device, *stream: str) -> torch.Generator:
    return torch.Generator(device).manual_seed(derive_seed(seed, *stream))


def _report(
    loss: str, factor: str, size: int | None, pairs: PairDistances, triplets: float | None
) -> FactorReport:
    mean, std = pairs.summary(loss)
    return FactorReport(
        loss=loss,
        factor=factor,
        size=size,
        mean=mean,
        std=std,
        cv=coefficient_of_variation(mean, std),
        rank_correlation=rank_correlation(pairs.ground_truth, pairs.perceived[loss]),
        linear_correlation=linear_correlation(pairs.ground_truth, pairs.perceived[loss]),
        triplet_agreement=triplets,
    )


def _random_triplet_agreement(
    data: GroundTruthData,
    losses: Mapping[str, ReconstructionLoss],
    num_triplets: int,
    generator: torch.Generator,
    standardise: bool,
) -> dict[str, float | None]:
    """Triplet agreement over triplets of random, pairwise different observations."""
    anchor, positive, negative = (data.sample_factors(num_triplets, generator) for _ in range(3))
    distinct = ~((anchor == positive).all(1) | (anchor == negative).all(1) | (positive == negative).all(1))
    anchor, positive, negative = anchor[distinct], positive[distinct], negative[distinct]
    if len(anchor) == 0:
        return dict.fromkeys(losses)
    near = pair_distances(data, losses, anchor, positive, standardise)
    far = pair_distances(data, losses, anchor, negative, standardise)
    return {
        name: agreement(near.ground_truth, far.ground_truth, near.perceived[name], far.perceived[name])
        for name in losses
    }


def square_grid_overlap(data: GroundTruthData) -> dict[str, float] | None:
    """The 1-D overlap diagnostic (§2.1) for data whose squares move on a grid, else ``None``."""
    grid = data.square_grid()
    return None if grid is None else interval_overlap(*grid).as_dict()


def audit_data(
    data: GroundTruthData,
    losses: Mapping[str, ReconstructionLoss],
    factors: Sequence[int | str] | None = None,
    num_traversals: int = 256,
    num_pairs: int = 50_000,
    triplets_per_traversal: int = 64,
    standardise: bool = False,
    seed: int = 777,
    device: torch.device | str = "cpu",
    thresholds: VerdictThresholds | None = None,
) -> DataAudit:
    """Audit ``data`` under each of ``losses`` (see the module docstring). Paper settings by default:
    256 traversals per factor, 50,000 pairs, images on the [0, 1] scale, seed 777."""
    if not losses:
        raise InvalidInputError("no loss to audit: pass at least one, e.g. {'mse': MSELoss()}")
    if min(num_traversals, num_pairs, triplets_per_traversal) < 1:
        raise InvalidInputError("num_traversals, num_pairs and triplets_per_traversal must each be >= 1")
    thresholds = thresholds or VerdictThresholds()
    device = torch.device(device)
    indices = varying_factors(data, factors)
    reports: list[FactorReport] = []
    matrices: dict[str, dict[str, np.ndarray]] = {}
    along_factors: dict[str, PairDistances] = {}
    for index in indices:
        name = data.factor_names[index]
        traversals = traversal_distances(
            data, losses, index, num_traversals, _generator(seed, device, "traversals", name), standardise
        )
        matrices[name] = {key: value.cpu().numpy() for key, value in traversals.matrices().items()}
        pairs = pair_distances(
            data,
            losses,
            *within_traversal_pairs(data, index, num_pairs, _generator(seed, device, "pairs", name)),
            standardise,
        )
        along_factors[name] = pairs
        ground_truth = traversals.per_traversal(traversals.ground_truth)
        for loss in losses:
            triplets = traversal_triplet_agreement(
                ground_truth,
                traversals.per_traversal(traversals.perceived[loss]),
                triplets_per_traversal,
                _generator(seed, device, "triplets", name),
            )
            report = _report(loss, name, data.factor_sizes[index], pairs, triplets)
            report.verdict = classify(report.cv, report.rank_correlation, thresholds)
            report.explanation = explain(name, loss, report.verdict, report.cv, report.rank_correlation)
            reports.append(report)
    baseline = pair_distances(
        data, losses, *random_pairs(data, num_pairs, _generator(seed, device, RANDOM)), standardise
    )
    random_triplets = _random_triplet_agreement(
        data,
        losses,
        num_traversals * triplets_per_traversal,
        _generator(seed, device, RANDOM, "triplets"),
        standardise,
    )
    reports += [_report(loss, RANDOM, None, baseline, random_triplets[loss]) for loss in losses]
    order = list(losses)
    reports.sort(key=lambda report: order.index(report.loss))
    correlations = {
        loss: {r.factor: r.rank_correlation for r in reports if r.loss == loss and r.factor != RANDOM}
        for loss in order
    }
    return DataAudit(
        factor_names=[data.factor_names[index] for index in indices],
        losses=list(losses),
        reports=reports,
        matrices=matrices,
        settings={
            "num_traversals": num_traversals,
            "num_pairs": num_pairs,
            "triplets_per_traversal": triplets_per_traversal,
            "standardise": standardise,
            "seed": seed,
            "constant_cv": thresholds.constant_cv,
            "min_rank_correlation": thresholds.min_rank_correlation,
        },
        skipped_factors={
            data.factor_names[i]: "a single value: no traversal"
            for i in range(data.num_factors)
            if i not in indices and data.factor_sizes[i] < 2
        },
        overlap_1d=square_grid_overlap(data),
        comparisons=compare_losses(order, baseline, along_factors, correlations),
    )
