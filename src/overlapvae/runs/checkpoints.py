"""Finding and reading a run's checkpoint, each failure named with the file and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from overlapvae.utils.validation import InvalidInputError, MissingInputError


def locate(checkpoint: str | Path) -> tuple[Path, Path, Path]:
    """``(checkpoint file, run dir, output dir)`` for a run dir or a checkpoint inside one."""
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        run_dir, output_dir, path = path, path, path / "checkpoints" / "last.ckpt"
    else:
        run_dir, output_dir = path.parent.parent, path.parent
    if not path.is_file():
        raise MissingInputError(
            f"checkpoint={checkpoint}: no checkpoint at {path}: pass checkpoint=<run dir> (with "
            "checkpoints/last.ckpt) or checkpoint=<path to a .ckpt file>"
        )
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise MissingInputError(
            f"checkpoint={checkpoint}: {run_dir / '.hydra' / 'config.yaml'} is missing: the checkpoint "
            "must sit in <run dir>/checkpoints/ of an overlapvae-train run, whose config says what to rebuild"
        )
    return path, run_dir, output_dir


def read_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint file's contents; ``InvalidInputError`` naming the file when it cannot be read."""
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as error:  # truncated, not a zip archive, foreign pickle: any unpickling error
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        raise InvalidInputError(
            f"{path} is not a readable checkpoint ({reason}): it may be truncated or not written by "
            "overlapvae-train; use another checkpoint"
        ) from error
    if not isinstance(state, dict) or "state_dict" not in state:
        raise InvalidInputError(
            f"{path} holds no model weights (no state_dict): it is not a training checkpoint"
        )
    return state
