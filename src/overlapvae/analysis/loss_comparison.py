"""Loss against loss: do two reconstruction losses perceive a data set alike?

Over the same pairs of observations (random pairs, and the pairs within each factor's traversals):
how alike the two losses order the pairs (:func:`ordering_correlation`: 1 when every pair is ordered
alike), and the ratio of their mean distances (their scales). On binary images |a − b| = (a − b)²
per element up to the step between the two values, so L1 and MSE order every pair alike (the
paper's §3; its Table A1 holds for both): a difference in training between them can then come only
from their scale and their gradients, never from what they perceive. On graded images (shaded
objects, photographs) they differ, and the comparison says on which factors and which loss follows
the ground truth more closely.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from overlapvae.analysis.correlation import ordering_correlation
from overlapvae.analysis.importance import PairDistances

#: Factors named in a verdict where two losses order pairs differently, most different first.
NAMED_FACTORS = 3
#: Ordering correlations at least this high count as the same order: two distances that are
#: monotone functions of each other (a calibrated loss and its base) can still split or merge a
#: few ties of values equal up to float rounding.
SAME_ORDER = 1.0 - 1e-6


@dataclass
class LossComparison:
    """``loss`` against ``other`` over the audit's pairs: the ordering correlation over random
    pairs (``overall``) and per factor, the ratio of their mean random-pair distances
    (``scale_ratio``: mean d_loss / mean d_other), and the mean over factors of each loss's rank
    correlation with d_gt (``None`` where a loss is constant on every factor)."""

    loss: str
    other: str
    overall: float | None
    factors: dict[str, float | None]
    scale_ratio: float | None
    ground_truth_correlation: dict[str, float | None]
    verdict: str = ""

    @property
    def same_order(self) -> bool:
        """Whether the two losses order every pair alike (to ``SAME_ORDER``), over random pairs and
        along every factor."""
        correlations = [self.overall, *self.factors.values()]
        return all(value is not None and value >= SAME_ORDER for value in correlations)


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return sum(defined) / len(defined) if defined else None


def _rho(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def explain_comparison(comparison: LossComparison) -> str:
    """One sentence: the same perception, or where and how much the two losses differ."""
    loss, other = comparison.loss, comparison.other
    scale = "" if comparison.scale_ratio is None else f" (scale ratio {comparison.scale_ratio:.4g})"
    if comparison.same_order:
        return (
            f"{loss} and {other} order every pair alike on this data set (ρ = {_rho(comparison.overall)}): "
            f"they perceive the same overlap; a difference in training comes from scale{scale} and "
            "gradients only."
        )
    differing = sorted(
        ((rho, name) for name, rho in comparison.factors.items() if rho is None or rho < SAME_ORDER),
        key=lambda item: math.inf if item[0] is None else item[0],
    )
    named = ", ".join(f"{name} (ρ = {_rho(rho)})" for rho, name in differing[:NAMED_FACTORS])
    sentence = (
        f"{loss} and {other} order pairs differently (ρ = {_rho(comparison.overall)} over random "
        f"pairs{scale}), most along {named or 'no single factor'}"
    )
    correlations = comparison.ground_truth_correlation
    if correlations[loss] is not None and correlations[other] is not None:
        closer, further = (loss, other) if correlations[loss] >= correlations[other] else (other, loss)
        sentence += (
            f"; along traversals {closer} follows d_gt more closely (mean rank correlation "
            f"{correlations[closer]:.3f} against {correlations[further]:.3f})"
        )
    return sentence + "."


def compare_losses(
    losses: Sequence[str],
    random: PairDistances,
    along_factors: Mapping[str, PairDistances],
    ground_truth_correlation: Mapping[str, Mapping[str, float | None]],
) -> list[LossComparison]:
    """Every pair of ``losses`` (in the given order) over the same ``random`` pairs and the pairs
    ``along_factors``; ``ground_truth_correlation[loss][factor]`` is each loss's rank correlation
    with d_gt there."""
    comparisons = []
    for i, loss in enumerate(losses):
        for other in losses[i + 1 :]:
            comparison = LossComparison(
                loss=loss,
                other=other,
                overall=ordering_correlation(random.perceived[loss], random.perceived[other]),
                factors={
                    factor: ordering_correlation(pairs.perceived[loss], pairs.perceived[other])
                    for factor, pairs in along_factors.items()
                },
                scale_ratio=random.mean_ratio(loss, other),
                ground_truth_correlation={
                    name: _mean(list(ground_truth_correlation[name].values())) for name in (loss, other)
                },
            )
            comparison.verdict = explain_comparison(comparison)
            comparisons.append(comparison)
    return comparisons
