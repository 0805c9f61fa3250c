# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Is a data set adversarial to a reconstruction loss?
#
# The paper's claim (Michlo, Klein & James, IJCAI 2023): a VAE orders a factor only if the
# reconstruction loss *perceives* images that are close in that factor as close. This notebook
# measures that before any training, with `overlapvae.analysis`:
#
# 1. the 1-D overlap of two squares on an XYSquares grid (the paper's §2.1) for every spacing;
# 2. the averaged traversal distance matrices (its Figs. 3 and 8) of XYSquares at several spacings,
#    and how the rank correlation of perceived with ground-truth distance grows as spacing shrinks;
# 3. the same audit of XYObject, a data set with overlap.
#
# The figures match `overlapvae-audit -m dataset.grid_spacing=1,2,4,8`.

# %% tags=["parameters"]
import os

# 256 traversals and 50,000 pairs are the paper's sizes; the test suite runs this notebook smaller.
NUM_TRAVERSALS = int(os.environ.get("OVERLAPVAE_NOTEBOOK_TRAVERSALS", "256"))
NUM_PAIRS = int(os.environ.get("OVERLAPVAE_NOTEBOOK_PAIRS", "50000"))
SPACINGS = (1, 2, 4, 8)

# %%
import pandas as pd
from IPython.display import display

from overlapvae.analysis import audit_data, interval_overlap
from overlapvae.data import XYObject, XYSquares
from overlapvae.losses import L1Loss, MSELoss
from overlapvae.results.figures import correlation_figure, sweep_matrix_figure, traversal_matrix_figure

losses = {"mse": MSELoss(), "l1": L1Loss()}  # the conf/loss/ options of the same names

# %% [markdown]
# ## 1. How much do two neighbouring squares overlap?
# Squares are 8 px wide. At spacing 8 neighbouring positions share no pixel, so every pair of
# positions is the same pixel-wise distance apart; below 8 nearby positions overlap.

# %%
overlap = pd.DataFrame([interval_overlap(spacing).as_dict() for spacing in range(1, 9)])
display(overlap)

# %% [markdown]
# ## 2. XYSquares: perceived distance along each factor, per spacing

# %%
audits = {
    spacing: audit_data(
        XYSquares(grid_spacing=spacing),
        losses,
        num_traversals=NUM_TRAVERSALS,
        num_pairs=NUM_PAIRS,
    )
    for spacing in SPACINGS
}
traversal_matrix_figure(audits[8].matrices, list(losses), "XYSquares, spacing 8 (no overlap)")

# %%
traversal_matrix_figure(audits[1].matrices, list(losses), "XYSquares, spacing 1 (most overlap)")

# %%
factor = "x_R"
sweep_matrix_figure(
    [f"spacing {s}" for s in SPACINGS],
    {loss: [audits[s].matrices[factor][loss] for s in SPACINGS] for loss in losses},
    factor,
    "Perceived distance along one factor as overlap grows (the paper's Fig. 8)",
)


# %%
def mean_rank_correlation(audit, loss):
    values = [r.rank_correlation for r in audit.reports if r.loss == loss and r.factor != "random"]
    return None if None in values else sum(values) / len(values)


correlation_figure(
    list(SPACINGS),
    {loss: [mean_rank_correlation(audits[s], loss) for s in SPACINGS] for loss in losses},
    "grid spacing (px)",
    "Rank correlation of perceived with ground-truth distance (undefined at spacing 8)",
)

# %%
for spacing in (8, 1):
    print(f"spacing {spacing}:")
    print("\n".join(audits[spacing].verdict_lines()))

# %% [markdown]
# ## 3. XYObject: a data set with overlap

# %%
xyobject = audit_data(XYObject(), losses, num_traversals=NUM_TRAVERSALS, num_pairs=NUM_PAIRS)
display(pd.DataFrame([vars(r) for r in xyobject.reports]).drop(columns="explanation"))
traversal_matrix_figure(xyobject.matrices, list(losses), "XYObject")
