"""The command-line shape shared by the setup steps that prepare a cached asset
(``python -m rag.indexing.e5_convert``, ``python -m rag.llm.assets``): make sure it exists, print its path."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rag.core.config import get_settings
from rag.core.errors import RagError


def asset_main(argv: list[str] | None, prog: str, description: str, ensure: Callable[[Path, bool], Path]) -> int:
    """Run ``ensure(cache_dir, quiet)``; print the asset's path (exit 0) or one error line (exit 1)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache root (default: $RAG_CACHE_DIR or ~/.cache/govrag)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    cache_dir: Path = args.cache_dir.expanduser() if args.cache_dir else get_settings().cache_dir
    try:
        path = ensure(cache_dir, args.quiet)
    except (RagError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
