from __future__ import annotations

from rag.cli import main

main()
