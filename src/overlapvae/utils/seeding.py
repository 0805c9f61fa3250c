"""One integer seed per run, split into independent streams (data, initialisation, ...)."""

from __future__ import annotations

import zlib

import numpy as np

from overlapvae.utils.validation import InvalidInputError


def derive_seed(seed: int, *stream: str | int) -> int:
    """A 63-bit seed for the named sub-stream ``stream`` of run seed ``seed``.

    Uses numpy's ``SeedSequence``, so streams of one run are statistically independent and the
    same ``(seed, stream)`` always gives the same value.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed={seed!r} is invalid: use a non-negative integer")
    key = [zlib.crc32(str(part).encode()) for part in stream]
    state = np.random.SeedSequence([seed, *key]).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))
