"""The download path against a real HTTP server on 127.0.0.1."""

import hashlib
import http.server
import threading

import pytest

from advlab.data.domains import load_domain
from advlab.data.download import RemoteFile, download
from advlab.errors import DataError

PAYLOAD = b"advlab test payload " * 1000


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()

    def do_GET(self):
        name = self.path.lstrip("/")
        if name not in self.files:
            self.send_error(404)
            return
        body = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.truncate else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.files = {"good.bin": PAYLOAD, "short.bin": PAYLOAD}
    Handler.truncate = {"short.bin"}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_verifies_and_moves_into_place(server, tmp_path):
    path = download(RemoteFile("good.bin", md5(PAYLOAD), (f"{server}/good.bin",)), tmp_path, quiet=True)
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["good.bin"]  # no partial files left


def test_falls_back_to_next_mirror(server, tmp_path):
    remote = RemoteFile("good.bin", md5(PAYLOAD), (f"{server}/missing/nothing.bin", f"{server}/good.bin"))
    assert download(remote, tmp_path, quiet=True).read_bytes() == PAYLOAD


def test_checksum_mismatch_names_file_and_both_sums_and_keeps_good_file(server, tmp_path):
    (tmp_path / "good.bin").write_bytes(b"the good copy")
    wrong = "0" * 32
    with pytest.raises(DataError) as err:
        download(RemoteFile("good.bin", wrong, (f"{server}/good.bin",)), tmp_path, quiet=True)
    assert "good.bin" in str(err.value) and wrong in str(err.value) and md5(PAYLOAD) in str(err.value)
    assert (tmp_path / "good.bin").read_bytes() == b"the good copy"
    assert [p.name for p in tmp_path.iterdir()] == ["good.bin"]


def test_truncated_transfer_never_replaces_file(server, tmp_path):
    (tmp_path / "short.bin").write_bytes(b"old")
    with pytest.raises(DataError, match="could not download short.bin"):
        download(RemoteFile("short.bin", md5(PAYLOAD), (f"{server}/short.bin",)), tmp_path, quiet=True)
    assert (tmp_path / "short.bin").read_bytes() == b"old"
    assert len(list(tmp_path.iterdir())) == 1


def test_missing_mnist_is_downloaded_from_mirror_and_checked(server, tmp_path, monkeypatch):
    """load_domain('mnist') on an empty data folder goes to $ADVLAB_MIRROR first; the bytes
    served there are not MNIST, so the pinned checksum rejects them."""
    Handler.files["train-images-idx3-ubyte.gz"] = PAYLOAD
    monkeypatch.setenv("ADVLAB_MIRROR", server)
    monkeypatch.setattr("advlab.data.domains.MNIST_MIRRORS", ())
    with pytest.raises(DataError, match="checksum mismatch for train-images-idx3-ubyte.gz"):
        load_domain("mnist", data_dir=tmp_path, quiet=True)
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()


@pytest.mark.parametrize("mirror", ["not a url at all", "http://127.0.0.1:1", "{server}/wrong-bytes"])
def test_a_bad_mirror_falls_back_to_the_official_ones(server, tmp_path, monkeypatch, mirror):
    """$ADVLAB_MIRROR that is malformed, unreachable or serves other bytes: the download
    goes on to the public mirrors (here the local server) instead of stopping."""
    from advlab.data.domains import _mirrored

    Handler.files["wrong-bytes/good.bin"] = b"not the payload"
    Handler.files["good.bin"] = PAYLOAD
    monkeypatch.setenv("ADVLAB_MIRROR", mirror.format(server=server))
    remote = _mirrored(RemoteFile("good.bin", md5(PAYLOAD), (f"{server}/good.bin",)))
    assert len(remote.urls) == 2
    assert download(remote, tmp_path, quiet=True).read_bytes() == PAYLOAD
