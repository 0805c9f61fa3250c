"""The blur of the kernel losses (loss=mse_box_r31 and friends): FFT against direct convolution of a
batch of 64×64 RGB images, per kernel radius, on one device. Both are the same zero-padded linear
convolution; ``method: auto`` picks FFT from FFT_MIN_KERNEL_SIZE on. Also the whole loss (forward
and backward) against plain MSE, the price of the remedy per training step.
Run: ``python benchmarks/kernel_loss.py [--batch 256] [--repeats 5] [--device cuda]``.
"""

from __future__ import annotations

import argparse

import torch

from common import median_seconds, print_table
from overlapvae.losses import KernelLoss, MSELoss, box_kernel, convolve
from overlapvae.losses.kernel import FFT_MIN_KERNEL_SIZE

RADII = (1, 2, 3, 7, 15, 31)


def loss_step_seconds(loss: torch.nn.Module, images: torch.Tensor, repeats: int) -> float:
    reconstruction = images.clone().requires_grad_(True)

    def step() -> None:
        loss(reconstruction, images).backward()

    return median_seconds(step, repeats, images.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    images = torch.randn(arguments.batch, 3, 64, 64, device=device)
    rows = []
    for radius in RADII:
        kernel = box_kernel(radius).float().to(device)
        seconds = {
            method: median_seconds(
                lambda m=method, k=kernel: convolve(images, k, m), arguments.repeats, device
            )
            for method in ("fft", "direct")
        }
        difference = (convolve(images, kernel, "fft") - convolve(images, kernel, "direct")).abs().max().item()
        chosen = "fft" if 2 * radius + 1 >= FFT_MIN_KERNEL_SIZE else "direct"
        rows.append(
            [
                radius,
                f"{seconds['fft'] * 1e3:.1f}",
                f"{seconds['direct'] * 1e3:.1f}",
                f"{seconds['direct'] / seconds['fft']:.1f}×",
                chosen,
                f"{difference:.1e}",
            ]
        )
    print(f"device {device}, {torch.get_num_threads()} threads, batch {arguments.batch} × 3 × 64 × 64")
    headers = ["radius", "fft ms", "direct ms", "direct / fft", "auto picks", "max |fft − direct|"]
    print_table(headers, rows)
    plain = loss_step_seconds(MSELoss().to(device), images, arguments.repeats)
    blurred = loss_step_seconds(KernelLoss().to(device), images, arguments.repeats)
    print_table(
        ["loss, forward + backward", "ms", "ratio"],
        [
            ["mse", f"{plain * 1e3:.1f}", "1.0×"],
            ["mse_box_r31", f"{blurred * 1e3:.1f}", f"{blurred / plain:.1f}×"],
        ],
    )


if __name__ == "__main__":
    main()
