"""Which version of the answering rules is running: the key the answer cache adds to every entry.

An answer depends on more than the question, the index and the answer settings: on the code and the
rule data (word lists, patterns, thresholds) that read the question, choose and check the figure, and
on the data packages those rules consult (the gazetteer, numerals, the word segmenter). After an
upgrade (``git pull``, a new wheel) a running service must never serve an answer an older rule made,
so the cache key holds :func:`answer_version`: the project's version, a hash of every source and data
file of the ``rag`` package, and the versions of those data packages. Any edit to the engine, a rule
word included, changes it; editing ``service/`` or ``eval/`` does not.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from functools import lru_cache
from pathlib import Path

import rag

#: The engine's own files: code and the rule data beside it (word lists, patterns, settings notes).
PACKAGE_ROOT = Path(rag.__file__).resolve().parent
RULE_FILES = ("*.py", "*.toml", "*.json", "*.txt", "*.tsv", "*.csv")

#: Data packages whose contents change answers: the gazetteer of divisions, Chinese numerals, the
#: word segmenter (BM25 terms, metric words), and the BM25 implementation.
DATA_PACKAGES = ("cpca", "cn2an", "jieba", "bm25s")


def tree_hash(root: Path, patterns: tuple[str, ...] = RULE_FILES) -> str:
    """sha256 over the relative path and bytes of every file under ``root`` that one of ``patterns``
    names (rule and code files by default), in path order."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in patterns for p in root.rglob(pattern) if "__pycache__" not in p.parts})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def package_versions(names: tuple[str, ...] = DATA_PACKAGES) -> str:
    """``name=version`` of each installed data package (``name=?`` when absent), comma-joined."""
    found = []
    for name in names:
        try:
            found.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return ",".join(found)


def version_of(root: Path) -> str:
    """The answering version of the engine whose package folder is ``root``."""
    return f"{rag.__version__}+{tree_hash(root)[:16]}({package_versions()})"


@lru_cache(maxsize=1)
def answer_version() -> str:
    """The version of this process's answering rules (computed once: the files do not change under
    a running process; a restarted one after an upgrade computes the new one)."""
    return version_of(PACKAGE_ROOT)
