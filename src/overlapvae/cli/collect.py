"""``overlapvae-collect``: a sweep's runs as ``results.csv``, a Markdown summary and comparison plots,
written into the sweep dir (``overlapvae.results.report.collect``).

Run: ``overlapvae-collect logs/train/sweeps/<sweep>`` or, from a wandb project,
``overlapvae-collect <out dir> --wandb <entity/project> --group <sweep>``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from overlapvae.results.report import collect, headline_metrics, markdown_summary
from overlapvae.results.tables import load_sweep, load_wandb
from overlapvae.utils.validation import InvalidInputError


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="overlapvae-collect", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="the sweep dir (read, and written into)")
    parser.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read the runs from wandb instead")
    parser.add_argument("--group", help="with --wandb: only this sweep (the wandb group)")
    parser.add_argument("--metrics", nargs="+", help="columns to compare (default: MIG and DCI)")
    options = parser.parse_args(arguments)
    try:
        if options.wandb:
            frame = load_wandb(options.wandb, group=options.group)
        else:
            frame = load_sweep(options.sweep_dir)
        written = collect(frame, options.sweep_dir, options.metrics)
    except (InvalidInputError, FileNotFoundError, KeyError, LookupError) as error:
        sys.exit(f"error: {error.args[0] if error.args else error}")
    print(markdown_summary(frame, list(options.metrics or headline_metrics(frame))))
    for name, path in written.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
