"""The shape of the code: the import graph of rag/, service/ and eval/ (read with ``ast``, nothing is imported).

Every ``import`` and ``from`` statement counts, at module level or inside a function, so an import made late
to dodge a circle is still an arrow. The engine (``rag``) is layered by pipeline stage::

    rag.core < rag.text, rag.gazetteer < rag.reading < rag.indexing < rag.retrieval < rag.answering, rag.llm

and a layer may import only its own and lower layers (``rag.llm`` sits beside ``rag.answering``: answering
uses the model clients, the clients use only ``rag.core``). The service and the evaluation sit above it all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "service", "eval")

#: The engine's layers, lowest first; a module belongs to the longest prefix that names it.
LAYERS: dict[str, int] = {
    "rag.core": 0,
    "rag.text": 1,
    "rag.gazetteer": 1,
    "rag.reading": 2,
    "rag.indexing": 3,
    "rag.retrieval": 4,
    "rag.answering": 5,
    "rag.llm": 5,
}

#: Arrows from a lower layer to a higher one that are allowed, each with its reason (at most one).
UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project modules ``name`` (at ``path``) imports: ``from pkg import sub`` counts as importing
    ``pkg.sub`` when that is a module, ``from pkg import name`` as importing ``pkg``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:  # `import a.b.c` names a.b.c (the longest part that is ours)
                yield from [m for m in prefixes(alias.name) if m in known][:1]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    yield sub
                elif target in known:
                    yield target


def prefixes(dotted: str) -> list[str]:
    """``a.b.c`` → ``a.b.c``, ``a.b``, ``a``: longest first."""
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imported(name, path, known) if m != name} for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def layer(name: str) -> tuple[str, int] | None:
    best = max((prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")), key=len, default=None)
    return (best, LAYERS[best]) if best else None


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "rag.answering.answer" in edges and "service.app" in edges
    assert "rag.retrieval.retrieve" in edges["rag.answering.answer"]


def test_no_import_cycles() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_engine_imports_neither_service_nor_eval() -> None:
    bad = sorted(
        f"{src} → {dst}"
        for src, dsts in graph().items()
        if src.split(".")[0] == "rag"
        for dst in dsts
        if dst.split(".")[0] in ("service", "eval")
    )
    assert not bad, bad


def test_every_engine_module_has_a_layer() -> None:
    loose = sorted(name for name in graph() if name.startswith("rag.") and layer(name) is None)
    assert not loose, f"modules in no layer: {loose}"


def test_layers_import_downward() -> None:
    upward: dict[tuple[str, str], str] = {}
    for src, dsts in graph().items():
        if (src_layer := layer(src)) is None:
            continue
        for dst in dsts:
            dst_layer = layer(dst)
            if dst_layer is not None and dst_layer[1] > src_layer[1]:
                upward[(src, dst)] = f"{src_layer[0]} → {dst_layer[0]}"
    assert len(UPWARD) <= 1
    unexpected = sorted(f"{src} → {dst} ({why})" for (src, dst), why in upward.items() if (src, dst) not in UPWARD)
    assert not unexpected, f"upward imports: {unexpected}"
    stale = sorted(f"{src} → {dst}" for src, dst in UPWARD if (src, dst) not in upward)
    assert not stale, f"allowed upward imports that no longer exist: {stale}"


def test_llm_and_answering_are_siblings() -> None:
    """The model clients never import the answering stage (answering imports them)."""
    bad = sorted(
        f"{src} → {dst}"
        for src, dsts in graph().items()
        if src.startswith("rag.llm")
        for dst in dsts
        if dst.startswith("rag.answering")
    )
    assert not bad, bad
