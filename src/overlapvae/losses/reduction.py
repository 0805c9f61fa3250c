"""Explicit loss reductions, shared by reconstruction and regularisation terms.

The paper's convention (Michlo et al. 2023, Appendix B.1) is ``mean``: the reconstruction term is the mean
over B·C·H·W elements and the KL the mean over B·z, so β there equals β_sum · z / (C·H·W).
"""

from __future__ import annotations

from typing import Literal, get_args

from torch import Tensor

from overlapvae.utils.validation import check_choice

Reduction = Literal["mean", "sum", "sample_sum", "none"]
REDUCTIONS: tuple[str, ...] = get_args(Reduction)


def check_reduction(reduction: str) -> None:
    check_choice("reduction", reduction, REDUCTIONS)


def reduce(values: Tensor, reduction: str) -> Tensor:
    """Reduce per-element values ``[B, ...]``.

    ``mean``: over every element; ``sum``: over every element; ``sample_sum``: summed over each
    sample's elements, then averaged over the batch; ``none``: unchanged.
    """
    check_reduction(reduction)
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "sample_sum":
        return values.flatten(start_dim=1).sum(dim=1).mean()
    return values


def reduce_sample_totals(totals: Tensor, elements_per_sample: int, reduction: str) -> Tensor:
    """Reduce per-sample totals ``[B]`` (sums over ``elements_per_sample`` elements) like :func:`reduce`.

    Used for terms only defined per sample, such as the total correlation of a latent vector.
    """
    check_reduction(reduction)
    if reduction == "mean":
        return totals.mean() / elements_per_sample
    if reduction == "sum":
        return totals.sum()
    if reduction == "sample_sum":
        return totals.mean()
    return totals
