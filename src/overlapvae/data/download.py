"""Checksummed downloads into a cache folder (through pooch).

A file reaches its final name only complete and verified: pooch streams it to a temporary file
and renames it when the transfer ends, retrying broken transfers; the MD5 is then checked here
(the published checksums are MD5s, PAPER §2.3). A file with the wrong checksum, downloaded or
found in the cache, is moved aside as ``<name>.corrupt-<time>`` and never used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests

from overlapvae.utils.files import file_digest, move_aside

log = logging.getLogger(__name__)

UNVERIFIED_SUFFIX = ".unverified"


class DownloadError(RuntimeError):
    """A file could not be fetched (no network, the server refused, the transfer kept breaking)."""


class ChecksumError(RuntimeError):
    """A downloaded file does not have its published checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: where it is, its MD5, and its name in the cache folder."""

    url: str
    md5: str
    filename: str


def fetch(
    remote: RemoteFile, directory: Path, download: bool = True, retries: int = 3, timeout: float = 60.0
) -> Path:
    """The verified local copy of ``remote`` in ``directory``, downloaded if it is not there.

    Raises ``DownloadError`` (naming the address and the folder, for a download by hand) when the
    file is missing and ``download`` is off or the transfer fails ``retries + 1`` times, and
    ``ChecksumError`` when the file's MD5 is wrong.
    """
    directory = Path(directory)
    final = directory / remote.filename
    if final.exists():
        actual = file_digest(final, "md5")
        if actual == remote.md5:
            return final
        move_aside(final, f"md5 {actual}, expected {remote.md5}", "downloading it again")
    by_hand = f"download it by hand from {remote.url} and put it in {directory}/ (expected md5 {remote.md5})"
    if not download:
        raise DownloadError(f"{remote.filename} is not in {directory}/ and downloads are off: {by_hand}")
    unverified = directory / f"{remote.filename}{UNVERIFIED_SUFFIX}"
    unverified.unlink(missing_ok=True)  # a leftover from an interrupted check is never trusted
    fetcher = pooch.create(
        path=directory,
        base_url="",
        registry={unverified.name: None},
        urls={unverified.name: remote.url},
        retry_if_failed=retries,
    )
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=timeout, chunk_size=1 << 20)
    log.info("downloading %s to %s", remote.url, final)
    try:
        fetcher.fetch(unverified.name, downloader=downloader)
    except (requests.exceptions.RequestException, OSError) as error:
        raise DownloadError(
            f"could not download {remote.filename} from {remote.url} ({type(error).__name__}: {error}). "
            f"Without network access, {by_hand}, or run `overlapvae-prepare` where the network is reachable."
        ) from error
    actual = file_digest(unverified, "md5")
    if actual != remote.md5:
        moved = move_aside(unverified, f"md5 {actual}, expected {remote.md5}", "it is not used")
        raise ChecksumError(
            f"{remote.filename} downloaded from {remote.url} has md5 {actual}, expected {remote.md5}; "
            f"the file was moved aside to {moved} and not used. The address may serve a different "
            f"version of the file: check it, or put a copy with the expected checksum in {directory}/."
        )
    unverified.replace(final)
    return final
