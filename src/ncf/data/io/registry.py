"""Named datasets: lookup under ``$NCF_DATA_DIR``, a download cache, checksums.

Resolution order for a name such as ``ml-1m``:

1. ``$NCF_DATA_DIR/<name>/`` when it holds the official files;
2. the cache, ``$NCF_CACHE/<name>/`` (default ``~/.cache/ncf``);
3. download the archive, verify it, extract it into the cache.

    >>> folder = resolve("ml-100k")          # a Path to a folder of official files
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ncf.errors import DataError

GROUPLENS = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class DatasetInfo:
    """Where a named dataset comes from and how to check it.

    Attributes:
        name: registry name, also the folder name.
        url: archive address.
        required: files the extracted folder must hold (relative to the folder).
        sha256: archive checksum, or None where no published checksum is known; then the
            archive is checked by its size bounds and required contents instead.
        size_range: (min, max) archive size in bytes accepted when ``sha256`` is None.
        inner: the folder inside the archive that holds the files.
    """

    name: str
    url: str
    required: tuple[str, ...]
    sha256: str | None = None
    size_range: tuple[int, int] = (0, 2**40)
    inner: str | None = None


DATASETS: dict[str, DatasetInfo] = {
    # Only ml-latest-small's checksum was verified against a known archive; the others
    # are checked by size bounds and by the files they must contain.
    "ml-100k": DatasetInfo(
        "ml-100k",
        GROUPLENS + "ml-100k.zip",
        ("u.data", "u.item"),
        size_range=(4_000_000, 6_000_000),
    ),
    "ml-1m": DatasetInfo(
        "ml-1m", GROUPLENS + "ml-1m.zip", ("movies.dat",), size_range=(5_000_000, 7_000_000)
    ),
    "ml-10m": DatasetInfo(
        "ml-10m",
        GROUPLENS + "ml-10m.zip",
        ("ratings.dat", "movies.dat"),
        size_range=(55_000_000, 75_000_000),
        inner="ml-10M100K",
    ),
    "ml-20m": DatasetInfo(
        "ml-20m",
        GROUPLENS + "ml-20m.zip",
        ("ratings.csv", "movies.csv"),
        size_range=(180_000_000, 220_000_000),
    ),
    "ml-25m": DatasetInfo(
        "ml-25m",
        GROUPLENS + "ml-25m.zip",
        ("ratings.csv", "movies.csv"),
        size_range=(230_000_000, 280_000_000),
    ),
    "ml-32m": DatasetInfo("ml-32m", GROUPLENS + "ml-32m.zip", ("ratings.csv", "movies.csv")),
    "ml-latest-small": DatasetInfo(
        "ml-latest-small",
        GROUPLENS + "ml-latest-small.zip",
        ("ratings.csv", "movies.csv"),
        sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("NCF_CACHE", Path.home() / ".cache" / "ncf"))


def _complete(folder: Path, info: DatasetInfo) -> bool:
    if not folder.is_dir():
        return False
    if info.name == "ml-1m":  # official ratings.dat, or the interactions.tsv layout
        return (folder / "movies.dat").exists() and (
            (folder / "ratings.dat").exists() or (folder / "interactions.tsv").exists()
        )
    return all((folder / name).exists() for name in info.required)


def resolve(name: str, download: bool = True) -> Path:
    """The folder of a named dataset, downloading it into the cache when needed."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    info = DATASETS[name]
    looked = []
    data_dir = os.environ.get("NCF_DATA_DIR")
    if data_dir:
        folder = Path(data_dir) / name
        looked.append(str(folder))
        if _complete(folder, info):
            return folder
    folder = cache_dir() / name
    looked.append(str(folder))
    if _complete(folder, info):
        return folder
    if not download:
        raise DataError(f"dataset {name!r} not found (looked in {', '.join(looked)})")
    try:
        return fetch(info, cache_dir())
    except (urllib.error.URLError, OSError) as err:
        raise DataError(
            f"dataset {name!r} not found (looked in {', '.join(looked)}) and the download "
            f"from {info.url} failed: {err}"
        ) from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(info: DatasetInfo, root: Path, progress: bool = True) -> Path:
    """Downloads, verifies and extracts ``info`` into ``root / info.name``; returns the folder.

    The archive is downloaded to a temporary file, checked, and extracted into a temporary
    folder that is renamed into place, so an interrupted download leaves nothing behind.
    """
    root.mkdir(parents=True, exist_ok=True)
    target = root / info.name
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{info.name}-") as tmp:
        archive = Path(tmp) / "archive.zip"
        _download(info.url, archive, progress)
        size = archive.stat().st_size
        if info.sha256 is not None:
            actual = sha256_of(archive)
            if actual != info.sha256:
                raise DataError(
                    f"checksum mismatch for {info.url}: expected sha256 {info.sha256}, got {actual}"
                )
        elif not info.size_range[0] <= size <= info.size_range[1]:
            raise DataError(
                f"unexpected size {size} bytes for {info.url}; expected {info.size_range}"
            )
        extracted = Path(tmp) / "extracted"
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(extracted)
        except zipfile.BadZipFile:
            raise DataError(f"{info.url} is not a zip archive") from None
        inner = extracted / (info.inner or info.name)
        if not inner.is_dir():
            inner = extracted
        if not _complete(inner, info):
            raise DataError(f"archive from {info.url} lacks {', '.join(info.required)}")
        if target.exists():
            shutil.rmtree(target)
        inner.rename(target)
    return target


def _download(url: str, dest: Path, progress: bool) -> None:
    from rich import get_console
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        columns = [*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn()]
        bars = progress and get_console().is_terminal
        with Progress(*columns, disable=not bars, transient=True) as bar:
            task = bar.add_task(f"download {url.rsplit('/', 1)[-1]}", total=total)
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.advance(task, len(block))
