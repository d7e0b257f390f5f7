"""Download with checksum verification: a partial or wrong download never replaces a good file."""

from __future__ import annotations

import hashlib
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
    """A file with its pinned md5 and the mirrors that serve it, tried in order."""

    filename: str
    md5: str
    mirrors: tuple[str, ...]


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
    for mirror in remote.mirrors:
        url = mirror.rstrip("/") + "/" + remote.filename
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{remote.filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=quiet, leave=False) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
            got = file_md5(tmp)
            if got != remote.md5:
                raise DataError(f"checksum mismatch for {remote.filename} from {url}: md5 {got}, expected {remote.md5}")
            os.replace(tmp, dest)
            return dest
        except DataError:
            tmp.unlink(missing_ok=True)
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            tmp.unlink(missing_ok=True)
            errors.append(f"{url}: {e}")
    raise DataError(f"could not download {remote.filename}: " + "; ".join(errors))
