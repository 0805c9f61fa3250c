"""Reads an offline wandb run's transaction log (``run-*.wandb``) so tests can check what was logged
without a server: LevelDB-style 32 KiB blocks of chunks, each a slice of one protobuf ``Record``."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

HEADER_BYTES = 7  # ":W&B", a 2-byte magic and a version byte
BLOCK_BYTES = 32 * 1024
CHUNK_HEADER = struct.Struct("<IHB")  # crc32c, length, chunk type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[Any]:
    raw = path.read_bytes()
    assert raw[:4] == b":W&B", f"{path} is not a wandb transaction log"
    position, pending, payloads = HEADER_BYTES, b"", []
    while position + CHUNK_HEADER.size <= len(raw):
        left_in_block = BLOCK_BYTES - position % BLOCK_BYTES
        if left_in_block < CHUNK_HEADER.size:  # block padding
            position += left_in_block
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(raw, position)
        data = raw[position + CHUNK_HEADER.size : position + CHUNK_HEADER.size + length]
        position += CHUNK_HEADER.size + length
        if kind == FULL:
            payloads.append(data)
        elif kind == FIRST:
            pending = data
        elif kind == MIDDLE:
            pending += data
        elif kind == LAST:
            payloads.append(pending + data)
    parsed = []
    for payload in payloads:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        parsed.append(record)
    return parsed


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def offline_run(run_dir: Path) -> dict[str, Any]:
    """``{"run_id", "group", "job_type", "tags", "config_keys", "history_keys", "summary"}`` of an
    offline run."""
    (log,) = run_dir.glob("run-*.wandb")
    run: dict[str, Any] = {"config_keys": set(), "history_keys": set(), "summary": {}}
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(
                run_id=record.run.run_id,
                group=record.run.run_group,
                job_type=record.run.job_type,
                tags=list(record.run.tags),
            )
        elif kind == "config":
            run["config_keys"].update(_key(item) for item in record.config.update)
        elif kind == "history":
            run["history_keys"].update(_key(item) for item in record.history.item)
        elif kind == "summary":
            run["summary"].update({_key(item): json.loads(item.value_json) for item in record.summary.update})
    return run
