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
# # Sweep results: L1 against MSE, overlap against no overlap
#
# Loads a training sweep with `overlapvae.results` (one row per run: its settings, its final
# scores `final/...` and their maximum over training `max/...`, what the paper plotted, and its
# health: `collapsed` when its reconstructions were no better than the loss's best constant image,
# `health/ratio` their error over that image's) and compares the runs. Collapsed runs are left
# out of every mean and drawn as red crosses. The default is the README's main job,
# `overlapvae-train -m experiment=overlap_vs_loss_demo hydra/launcher=joblib`; point `SWEEP_DIR`
# at any sweep dir, or use `load_wandb("<entity>/overlapvae", group=...)` for a synced project.

# %% tags=["parameters"]
import os

SWEEP_DIR = os.environ.get("OVERLAPVAE_SWEEP_DIR", "../logs/train/sweeps/overlap_vs_loss_demo_cpu")

# %%
from IPython.display import Markdown, display

from overlapvae.results.figures import comparison_figure
from overlapvae.results.report import headline_metrics, markdown_summary
from overlapvae.results.tables import aggregate, load_sweep, swept_columns

runs = load_sweep(SWEEP_DIR)
print(f"{len(runs)} runs; swept: {', '.join(swept_columns(runs))}")
health = [column for column in ("collapsed", "health/ratio", "recon_scale") if column in runs]
display(runs[["run", "status", *swept_columns(runs), "seed", *health, *headline_metrics(runs)]])

# %% [markdown]
# ## Mean ± std over seeds per setting

# %%
display(aggregate(runs, metrics=headline_metrics(runs)))
display(Markdown(markdown_summary(runs, headline_metrics(runs))))

# %% [markdown]
# ## Comparisons
# One panel per swept setting; on the spacing axis, L1 and MSE side by side. Lower spacing
# means more overlap between neighbouring positions.

# %%
for metric in headline_metrics(runs):
    display(comparison_figure(runs, metric))
