"""Named datasets: NCF_DATA_DIR lookup, and a real download from a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from ncf.data.io import registry
from ncf.data.io.formats import read_path
from ncf.errors import DataError


@pytest.fixture()
def server(tmp_path):
    """Serves tmp_path/www over HTTP on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def small_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("tiny/u.data", "1\t1\t5\t100\n1\t2\t3\t101\n2\t1\t4\t102\n")
        zipped.writestr(
            "tiny/u.item", "1|A (1990)|x||u" + "|0" * 19 + "\n2|B (1991)|x||u" + "|0" * 19 + "\n"
        )
    return buffer.getvalue()


def test_download_verify_extract_and_read(server, tmp_path):
    root, base = server
    payload = small_zip()
    (root / "tiny.zip").write_bytes(payload)
    info = registry.DatasetInfo(
        "tiny", base + "tiny.zip", ("u.data", "u.item"), sha256=hashlib.sha256(payload).hexdigest()
    )
    folder = registry.fetch(info, tmp_path / "cache", progress=False)
    assert folder == tmp_path / "cache" / "tiny"
    data = read_path(folder).data
    assert len(data) == 3 and data.items["title"].tolist() == ["A (1990)", "B (1991)"]


def test_checksum_mismatch_leaves_nothing_behind(server, tmp_path):
    root, base = server
    (root / "tiny.zip").write_bytes(small_zip())
    info = registry.DatasetInfo("tiny", base + "tiny.zip", ("u.data",), sha256="0" * 64)
    with pytest.raises(DataError, match="checksum mismatch"):
        registry.fetch(info, tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "tiny").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_archive_without_the_required_files_is_rejected(server, tmp_path):
    root, base = server
    (root / "tiny.zip").write_bytes(small_zip())
    info = registry.DatasetInfo("tiny", base + "tiny.zip", ("ratings.csv",))
    with pytest.raises(DataError, match="lacks ratings.csv"):
        registry.fetch(info, tmp_path / "cache", progress=False)


def test_resolve_prefers_ncf_data_dir(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("NCF_DATA_DIR", str(shared_data))
    monkeypatch.setenv("NCF_CACHE", str(tmp_path))
    assert registry.resolve("ml-100k") == Path(shared_data) / "ml-100k"
    assert registry.resolve("ml-1m") == Path(shared_data) / "ml-1m"


def test_offline_and_missing_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("NCF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NCF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"not found \(looked in .*data/ml-10m, .*cache/ml-10m\)"):
        registry.resolve("ml-10m", download=False)
    with pytest.raises(DataError, match="unknown dataset"):
        registry.resolve("ml-7m")


def test_every_registry_entry_pins_a_check():
    for info in registry.DATASETS.values():
        assert info.url.startswith("https://files.grouplens.org/")
        assert info.sha256 or info.size_range != (0, 2**40) or info.name == "ml-32m"
