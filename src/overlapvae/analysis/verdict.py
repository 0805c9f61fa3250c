"""The plain-language verdict: can a pixel-wise loss order a factor? (the paper's §3.1 and claim 2)

A factor's perceived distance is **constant** under a loss when the coefficient of variation
(std / mean) of d_pcv over pairs within its traversals is below ``constant_cv`` (default 0.01:
every pair looks equally far apart to within 1 %). A VAE trained with that loss then sees no order
among the factor's values and cannot arrange them in its latent space (XYSquares at spacing 8
under MSE or L1: exactly 0). Otherwise the factor is **ordered** when the rank correlation of
d_pcv with d_gt along traversals is at least ``min_rank_correlation`` (default 0.2), and
**unordered** when it is lower or undefined: the loss sees differences but not their order.
"""

from __future__ import annotations

from dataclasses import dataclass

from overlapvae.utils.validation import InvalidInputError

CONSTANT = "constant"
UNORDERED = "unordered"
ORDERED = "ordered"


@dataclass(frozen=True)
class VerdictThresholds:
    constant_cv: float = 0.01
    min_rank_correlation: float = 0.2

    def __post_init__(self) -> None:
        if self.constant_cv < 0:
            raise InvalidInputError(f"constant_cv={self.constant_cv} is invalid: use a value >= 0")
        if not -1.0 <= self.min_rank_correlation <= 1.0:
            raise InvalidInputError(f"min_rank_correlation={self.min_rank_correlation} must lie in [-1, 1]")


def coefficient_of_variation(mean: float, std: float) -> float:
    """std / mean of a non-negative distance (0 for a distance that is always 0)."""
    return std / mean if mean > 0 else 0.0


def classify(cv: float, rank_correlation: float | None, thresholds: VerdictThresholds) -> str:
    """``constant``, ``unordered`` or ``ordered`` (see the module docstring)."""
    if cv < thresholds.constant_cv:
        return CONSTANT
    if rank_correlation is None or rank_correlation < thresholds.min_rank_correlation:
        return UNORDERED
    return ORDERED


def explain(factor: str, loss: str, verdict: str, cv: float, rank_correlation: float | None) -> str:
    """One sentence a researcher can act on."""
    rho = "undefined" if rank_correlation is None else f"{rank_correlation:.3f}"
    if verdict == CONSTANT:
        return (
            f"{factor}: perceived distance is constant along its traversals under {loss} "
            f"(std/mean = {cv:.4f}): every pair of values looks equally far apart, so a VAE trained "
            f"with {loss} cannot order {factor}."
        )
    if verdict == UNORDERED:
        return (
            f"{factor}: perceived distance varies under {loss} (std/mean = {cv:.4f}) but does not follow "
            f"the factor's order (rank correlation {rho}): a VAE trained with {loss} is unlikely to order it."
        )
    return (
        f"{factor}: perceived distance grows with ground-truth distance under {loss} "
        f"(rank correlation {rho}): {loss} can order {factor}."
    )
