"""``overlapvae-learn-kernel``: learn a kernel whose blurred MSE ranks pairs of a data set like their
ground-truth distance (``overlapvae.analysis.learnt_kernel``), then save it for ``loss=mse_learnt``.

Writes into the run dir ``kernel.pt`` (atomically: ``{"kernel", "radius", "rank_correlation", ...}``),
``kernel.png`` (the kernel and its centre row) and ``learn_kernel.json`` (settings, the rank
correlation of the initial and the learnt kernel on held-out random pairs, the loss history).
Check its effect with ``overlapvae-audit losses=[mse,mse_learnt] kernel_file=<run dir>/kernel.pt``.
"""

from __future__ import annotations

import io
from pathlib import Path

import hydra
import torch
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf

from overlapvae.analysis.figures import save_figure
from overlapvae.analysis.learnt_kernel import learn_kernel
from overlapvae.build import config_dir, make
from overlapvae.config import register_schemas
from overlapvae.evaluate import resolve_device
from overlapvae.utils.files import atomic_write_bytes, atomic_write_json
from overlapvae.utils.validation import reports_bad_input

register_schemas()


def kernel_figure(kernel: torch.Tensor, title: str) -> Figure:
    figure = Figure(figsize=(7.0, 3.2), layout="constrained")
    image, row = figure.subplots(1, 2)
    shown = image.imshow(kernel.numpy(), cmap="Purples")
    figure.colorbar(shown, ax=image)
    image.set_title("kernel", fontsize=9)
    row.plot(range(-(kernel.shape[0] // 2), kernel.shape[0] // 2 + 1), kernel[kernel.shape[0] // 2].numpy())
    row.set_title("centre row", fontsize=9)
    figure.suptitle(title, fontsize=10)
    return figure


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="learn_kernel")
@reports_bad_input
def main(cfg: DictConfig) -> None:
    output_dir = Path(cfg.paths.output_dir)
    data = make(cfg.dataset)
    result = learn_kernel(
        data,
        radius=cfg.radius,
        steps=cfg.steps,
        pairs_per_step=cfg.pairs_per_step,
        lr=cfg.lr,
        rank_strength=cfg.rank_strength,
        symmetry_weight=cfg.symmetry_weight,
        l2_weight=cfg.l2_weight,
        evaluation_pairs=cfg.evaluation_pairs,
        seed=cfg.seed,
        device=resolve_device(cfg.device),
    )
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
    print(
        f"rank correlation with ground truth on random pairs: {result.initial_rank_correlation:.3f} "
        f"(initial kernel) -> {result.final_rank_correlation:.3f} (learnt)"
    )
    path = output_dir / "kernel.pt"
    print(f"kernel: {path}; train with loss=mse_learnt loss.kernel_file={path}")
    print(f"audit: overlapvae-audit losses=[mse,mse_learnt] kernel_file={path}")


if __name__ == "__main__":
    main()
