"""Download with checksum verification: a partial or wrong download never replaces a good file."""

from __future__ import annotations

import functools
import hashlib
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from advlab.errors import DataError
from advlab.runs.files import atomic_write


@dataclass(frozen=True)
class RemoteFile:
    """A file with its pinned md5 and the URLs that serve it, tried in order."""

    filename: str
    md5: str
    urls: tuple[str, ...]


def download(remote: RemoteFile, dest_dir: Path, quiet: bool = False, timeout: float = 30.0) -> Path:
    """Fetch `remote` into dest_dir, verify its md5, then move it into place atomically."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / remote.filename
    errors = []
    for url in remote.urls:
        try:
            atomic_write(
                dest, functools.partial(_fetch_verified, url, remote, quiet=quiet, timeout=timeout)
            )  # a bad file never lands
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, DataError) as e:
            # Any failure of one URL (unreachable, malformed, wrong bytes) moves on to the next:
            # a bad $ADVLAB_MIRROR must not hide the official mirrors behind it.
            errors.append(f"{url}: {e}")
    raise DataError(f"could not download {remote.filename}: " + "; ".join(errors))


def _fetch_verified(url: str, remote: RemoteFile, out, *, quiet: bool, timeout: float) -> None:
    """Stream `url` into `out`, hashing as it goes; a short transfer or a wrong md5 raises."""
    digest = hashlib.md5()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=quiet, leave=False) as bar:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise OSError(f"transfer cut short after {received} of {total} bytes")
    if digest.hexdigest() != remote.md5:
        raise DataError(
            f"checksum mismatch for {remote.filename} from {url}: md5 {digest.hexdigest()}, expected {remote.md5}"
        )
