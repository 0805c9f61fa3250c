"""Images/s of the data pipeline: batches of 256 rendered as standardised float tensors.

Compared, in the same process, with a per-sample baseline that renders one image at a time in
numpy and stacks them (how a per-item ``Dataset.__getitem__`` + ``DataLoader`` works), and with the
disent library's XYSquares through its DataLoader (2 workers): measured here when disent is installed
(``disent_reference.py``), else the 8.6k images/s recorded for the project's 2-core CPU machines.
Run: ``python benchmarks/data_throughput.py``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from common import median_seconds, print_table
from disent_reference import loader_reference
from overlapvae.data import GroundTruthData, XYObject, XYSquares

TARGET_RATIO = 50


def per_sample_baseline(data: GroundTruthData, factors: torch.Tensor) -> torch.Tensor:
    """One image at a time: numpy squares painted per factor vector, stacked, standardised."""
    layers = data.layers(factors)
    channels, height, width = data.image_shape
    images = np.zeros((len(factors), height, width, channels), dtype=np.uint8)
    for index in range(len(factors)):
        for square in range(layers.tops.shape[1]):
            top, left = int(layers.tops[index, square]), int(layers.lefts[index, square])
            size = int(layers.sizes[index, square])
            colour = layers.colours[index, square].numpy().astype(np.uint8)
            region = images[index, top : top + size, left : left + size]
            np.maximum(region, colour, out=region)
    mean = np.asarray(data.mean, dtype=np.float32)
    std = np.asarray(data.std, dtype=np.float32)
    floats = (images.astype(np.float32) / 255.0 - mean) / std
    return torch.from_numpy(floats).permute(0, 3, 1, 2).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    disent, source = loader_reference(args.batch_size)
    rows = []
    for name, data in (("XYSquares", XYSquares(grid_spacing=8, grid_size=8)), ("XYObject", XYObject())):
        cpu_generator = torch.Generator().manual_seed(0)
        cpu_factors = data.sample_factors(args.batch_size, cpu_generator)
        baseline = median_seconds(
            lambda d=data, f=cpu_factors: per_sample_baseline(d, f), 5, torch.device("cpu")
        )
        baseline_rate = args.batch_size / baseline
        rows.append([name, "cpu", "per-sample numpy (baseline)", f"{baseline_rate:,.0f}", "1.0", ""])
        for device in devices:
            generator = torch.Generator(device=device).manual_seed(0)

            def batch(d: GroundTruthData = data, g: torch.Generator = generator) -> torch.Tensor:
                return d.render_standardised(d.sample_factors(args.batch_size, g))

            rate = args.batch_size / median_seconds(batch, args.repeats, device)
            reference = rate / disent
            rows.append(
                [
                    name,
                    device.type,
                    "batched (sample + render_standardised)",
                    f"{rate:,.0f}",
                    f"{rate / baseline_rate:.1f}",
                    f"{reference:.1f}x (target {TARGET_RATIO}x)",
                ]
            )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print_table(
        ["data set", "device", "pipeline", "images/s", "x baseline", f"x {disent / 1000:.1f}k/s ({source})"],
        rows,
    )


if __name__ == "__main__":
    main()
