"""Learn a kernel whose blurred MSE ranks pairs of a data set like their ground-truth distance
(``overlapvae.analysis.learnt_kernel``) and save it for ``loss=mse_learnt``.

Writes into the run dir ``kernel.pt`` (atomically: ``{"kernel", "radius", "rank_correlation", ...}``),
``kernel.png`` (the kernel and its centre row) and ``learn_kernel.json`` (settings, the rank
correlation of the initial and the learnt kernel on held-out random pairs, the loss history).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis.learnt_kernel import KernelTraining, learn_kernel
from overlapvae.experiment.build import call_with_config, make
from overlapvae.results.figures import kernel_figure, save_figure
from overlapvae.utils.devices import resolve_device
from overlapvae.utils.files import atomic_write_bytes, atomic_write_json


def learn_and_save_kernel(cfg: DictConfig) -> tuple[KernelTraining, Path]:
    """Learn the kernel of ``cfg`` and write its files; return the result and ``kernel.pt``'s path."""
    output_dir = Path(cfg.paths.output_dir)
    data = make(cfg.dataset)
    result = call_with_config(learn_kernel, cfg, data, device=resolve_device(cfg.device))
    summary = {
        "radius": cfg.radius,
        "steps": cfg.steps,
        "initial_rank_correlation": result.initial_rank_correlation,
        "rank_correlation": result.final_rank_correlation,
        "dataset": OmegaConf.to_container(cfg.dataset, resolve=True, enum_to_str=True),
    }
    buffer = io.BytesIO()
    torch.save({"kernel": result.kernel, **summary}, buffer)
    atomic_write_bytes(output_dir / "kernel.pt", buffer.getvalue())
    atomic_write_json(output_dir / "learn_kernel.json", {**summary, "history": result.history})
    title = f"learnt kernel, radius {cfg.radius}: rank correlation {result.final_rank_correlation:.3f}"
    save_figure(kernel_figure(result.kernel, title), output_dir / "kernel", formats=("png",))
    return result, output_dir / "kernel.pt"
