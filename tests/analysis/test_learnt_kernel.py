"""The learnt kernel: soft ranks, the symmetry penalty, a few training steps that raise the rank
correlation, and the app's kernel file feeding the kernel loss and the audit."""

import json
import os
import subprocess
import sys

import pytest
import torch

from overlapvae.analysis import audit_data
from overlapvae.analysis.learnt_kernel import evaluate_kernel, learn_kernel, soft_rank, symmetry_penalty
from overlapvae.data import XYSquares
from overlapvae.losses import KernelLoss, MSELoss


def test_soft_ranks_tend_to_ranks_with_ties_averaged():
    values = torch.tensor([3.0, 1.0, 2.0, 2.0], dtype=torch.float64)
    assert soft_rank(values, 1e-6).tolist() == pytest.approx([4.0, 1.0, 2.5, 2.5])
    assert soft_rank(values, 10.0).tolist() == pytest.approx([2.5] * 4, abs=0.1)


def test_the_symmetry_penalty_is_zero_exactly_for_symmetric_kernels():
    symmetric = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0]))
    assert symmetry_penalty(symmetric) == 0
    assert symmetry_penalty(torch.arange(9.0).reshape(3, 3)) > 0


def test_a_few_steps_raise_the_rank_correlation_over_the_identity_kernel():
    data = XYSquares(grid_spacing=8, grid_size=4)
    identity = torch.zeros(5, 5, dtype=torch.float64)
    identity[2, 2] = 1.0
    baseline = evaluate_kernel(data, identity, 512, seed=5)
    result = learn_kernel(data, radius=2, steps=10, pairs_per_step=128, lr=0.01, evaluation_pairs=512, seed=4)
    assert result.kernel.shape == (5, 5) and result.kernel.sum().item() == pytest.approx(1.0)
    assert (result.kernel >= 0).all() and len(result.history) == 10
    assert result.final_rank_correlation > result.initial_rank_correlation  # 0.739 → 0.745
    assert result.final_rank_correlation > baseline + 0.3  # the identity kernel: 0.28


@pytest.mark.slow
def test_the_app_writes_a_kernel_that_the_loss_and_the_audit_load(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "overlapvae.cli.learn_kernel",
        "dataset.grid_size=4",
        "radius=2",
        "steps=4",
        "pairs_per_step=64",
        "evaluation_pairs=256",
        "lr=0.05",
        f"hydra.run.dir={run_dir}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((run_dir / "learn_kernel.json").read_text())
    assert summary["radius"] == 2 and len(summary["history"]) == 4 and (run_dir / "kernel.png").exists()
    assert f"loss.kernel_file={run_dir / 'kernel.pt'}" in result.stdout
    loss = KernelLoss(kernel="file", kernel_file=str(run_dir / "kernel.pt"), weight=1.0, normalise="none")
    assert loss.kernel.shape == (5, 5)
    audit = audit_data(
        XYSquares(grid_spacing=8, grid_size=4),
        {"mse": MSELoss(), "learnt": loss},
        num_traversals=8,
        num_pairs=500,
    )
    assert {r.verdict for r in audit.reports if r.loss == "mse" and r.factor != "random"} == {"constant"}
    assert {r.verdict for r in audit.reports if r.loss == "learnt" and r.factor != "random"} == {"ordered"}
