"""Download with checksum verification: a partial or wrong download never replaces a good file."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from advlab.errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    """A file with its pinned md5 and the URLs that serve it, tried in order."""

    filename: str
    md5: str
    urls: tuple[str, ...]


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(remote: RemoteFile, dest_dir: Path, quiet: bool = False, timeout: float = 30.0) -> Path:
    """Fetch `remote` into dest_dir, verify its md5, then move it into place atomically."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / remote.filename
    errors = []
    for url in remote.urls:
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{remote.filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                received = 0
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=quiet, leave=False) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                if total is not None and received != total:
                    raise OSError(f"transfer cut short after {received} of {total} bytes")
            got = file_md5(tmp)
            if got != remote.md5:
                raise DataError(f"checksum mismatch for {remote.filename} from {url}: md5 {got}, expected {remote.md5}")
            os.replace(tmp, dest)
            return dest
        except DataError:
            tmp.unlink(missing_ok=True)
            raise
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            tmp.unlink(missing_ok=True)
            errors.append(f"{url}: {e}")
    raise DataError(f"could not download {remote.filename}: " + "; ".join(errors))
