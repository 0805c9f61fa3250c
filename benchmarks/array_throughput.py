"""Images/s of batches of 256 from an in-memory data set the size of dSprites (737,280 × 1 × 64 × 64
uint8, generated, about 3 GB), sampled uniformly and standardised as the model sees them.

Compared, in the same process, with a per-item baseline (a ``Dataset`` whose ``__getitem__``
returns one standardised image, batched by a ``DataLoader`` in the main process, as loaders of
ground-truth data usually work), and with the disent library's DataLoader (2 workers, its XYSquares):
measured here when disent is installed (``disent_reference.py``), else the 8.6k images/s recorded
for the project's 2-core CPU machines. Where a GPU is
available, also with the images resident on it (``storage: device``) and with them in host
memory gathered for a GPU (``storage: memory``). Run: ``python benchmarks/array_throughput.py``.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader, Dataset

from common import median_seconds, print_table
from disent_reference import loader_reference
from overlapvae.data import ArrayData

DSPRITES_SIZES = (3, 6, 40, 32, 32)


class PerItem(Dataset):
    """One standardised image per ``__getitem__``."""

    def __init__(self, data: ArrayData) -> None:
        self.images, self.mean, self.std = data.images, data.mean[0], data.std[0]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return (self.images[index].float() / 255.0 - self.mean) / self.std


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    disent, source = loader_reference(args.batch_size)
    images = torch.randint(
        0, 2, (737_280, 1, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    images.mul_(255)

    def array_data(storage: str) -> ArrayData:
        names = ("shape", "scale", "orientation", "position_x", "position_y")
        return ArrayData(images, names, DSPRITES_SIZES, (0.042494,), (0.195166,), storage)

    memory = array_data("memory")
    loader = iter(DataLoader(PerItem(memory), batch_size=args.batch_size, shuffle=True, num_workers=0))
    baseline = args.batch_size / median_seconds(lambda: next(loader), 20, torch.device("cpu"))
    rows = [["cpu", "per-item Dataset + DataLoader (baseline)", f"{baseline:,.0f}", "1.0", ""]]
    options = [("cpu", "memory")]
    if torch.cuda.is_available():
        options += [("cuda", "memory"), ("cuda", "device")]
    for device_name, storage in options:
        device = torch.device(device_name)
        data = array_data(storage)
        generator = torch.Generator(device=device).manual_seed(0)

        def batch(d: ArrayData = data, g: torch.Generator = generator) -> torch.Tensor:
            return d.render_standardised(d.sample_factors(args.batch_size, g))

        rate = args.batch_size / median_seconds(batch, args.repeats, device)
        rows.append(
            [
                device_name,
                f"batched gather (storage: {storage})",
                f"{rate:,.0f}",
                f"{rate / baseline:.1f}",
                f"{rate / disent:.1f}x",
            ]
        )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print_table(
        ["device", "pipeline", "images/s", "x baseline", f"x {disent / 1000:.1f}k/s ({source})"], rows
    )


if __name__ == "__main__":
    main()
