"""A small on-disk cache for values measured on a data set (best constant images, matched scales).

Each value lives in ``<directory>/<kind>/<hash of its key>.pt`` beside the key it was computed for,
written atomically. A file whose stored key differs (a hash collision) or that cannot be read is
recomputed and rewritten; nothing stale is ever returned.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from overlapvae.utils.files import atomic_write_bytes

log = logging.getLogger(__name__)


def key_digest(key: Mapping[str, Any]) -> str:
    """A stable hex digest of a JSON-serialisable key."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def cached(
    directory: str | Path | None, kind: str, key: Mapping[str, Any], compute: Callable[[], Any]
) -> Any:
    """``compute()``'s value for ``key``, read from ``directory`` when it was stored there before and
    stored there otherwise; ``directory=None`` computes every time. Values are anything
    ``torch.save`` writes and ``torch.load(weights_only=True)`` reads (tensors, numbers, strings,
    lists and dicts of them)."""
    if directory is None:
        return compute()
    key = json.loads(json.dumps(key, sort_keys=True))  # the form it takes after a round trip
    path = Path(directory) / kind / f"{key_digest(key)}.pt"
    if path.is_file():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if stored["key"] == key:
                return stored["value"]
            log.warning("%s holds another key: recomputing it", path)
        except Exception as error:  # truncated or foreign file
            log.warning("%s is unreadable (%s): recomputing it", path, error)
    value = compute()
    buffer = io.BytesIO()
    torch.save({"key": key, "value": value}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return value
