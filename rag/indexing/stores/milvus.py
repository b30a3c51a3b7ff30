"""The Milvus store: the index in Milvus, shared by every process that points at it.

``RAG_MILVUS_URI`` is a file path (Milvus Lite inside this process; one process per file) or
``http://host:19530`` (a Milvus server or cluster, or ``milvus-lite server`` on loopback). Layout,
for ``RAG_MILVUS_COLLECTION=govrag``:

    govrag                 the catalogue: one row ``current`` naming the live generation
    govrag__g<ns>          one generation's chunks: the passage, its scalar fields (region, year,
                           period, source …), the dense vector, and a BM25 function over a jieba
                           analyzer of the indexed text producing the sparse vector
    govrag__g<ns>_meta     that generation's manifest, one row per report and its version

A rebuild (:func:`replace`) fills a new generation and then rewrites the catalogue row (one upsert:
atomic); the previous generation is kept for requests under way, older ones are dropped. An update
(:func:`update`) deletes and inserts the changed reports' chunks in the live generation and gives it a
new version, which the other replicas notice (:meth:`MilvusStore.latest_generation`).

Milvus Lite persists no aliases across restarts, hence the catalogue collection. BM25 distances come
back negative (the best the most negative): scores here are their negation, so larger is better.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag.core.config import Settings
from rag.core.errors import IndexMismatchError, IndexNotFoundError, StoreError
from rag.indexing.index import INDEX_FORMAT, check_compatible
from rag.indexing.lexical import STOPWORDS, punctuation_tokens
from rag.indexing.stores.base import Key, Where
from rag.reading.chunking import Chunk

logger = logging.getLogger(__name__)

#: Generations kept (the live one included): a replica still on the previous one keeps answering.
KEEP_GENERATIONS = 2
#: Rows per insert request.
INSERT_BATCH = 500
#: Milvus returns at most this many rows per query: also the most reports one store lists.
QUERY_LIMIT = 16384
#: VARCHAR lengths are in bytes (UTF-8: three per CJK character).
TEXT_BYTES = 65535
CURRENT = "current"
#: Milvus wants a vector field in every collection; the catalogue and meta rows carry this one.
_PLACEHOLDER = [0.0, 0.0]

T = TypeVar("T")


def _quoted(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def expression(where: Where) -> str:
    """The Milvus filter for ``where`` (``""``: no filter)."""
    parts = []
    if where.region is not None:
        names = [where.region, *where.also]
        parts.append(f"region == {_quoted(where.region)}" if len(names) == 1 else f"region in [{', '.join(map(_quoted, names))}]")
    if where.year is not None:
        parts.append(f"year {'!=' if where.other_years else '=='} {int(where.year)}")
    if where.plan is not None:
        parts.append(f'period {"==" if where.plan else "!="} "plan"')
    return " and ".join(parts)


def _call(what: str, action: Callable[[], T]) -> T:
    """Run a Milvus request; its failure becomes a one-line :class:`StoreError`."""
    from pymilvus.exceptions import MilvusException

    try:
        return action()
    except MilvusException as exc:
        raise StoreError(f"Milvus {what} failed: {getattr(exc, 'message', None) or exc}") from None


def is_lite(uri: str) -> bool:
    """A file path (Milvus Lite in this process) rather than a server address."""
    return "://" not in uri


def connect(settings: Settings) -> Any:
    """A client for ``settings.milvus_uri``; a server that does not answer is a :class:`StoreError`."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    uri = settings.milvus_uri
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    if is_lite(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=token, timeout=settings.milvus_timeout)
    except (MilvusException, OSError, RuntimeError) as exc:
        reason = getattr(exc, "message", None) or str(exc)
        if is_lite(uri):  # most often: another process has the file (Milvus Lite serves one at a time)
            reason += (
                "; Milvus Lite opens a file in one process at a time: stop the other one, or serve the folder"
                " with `milvus-lite server` and set RAG_MILVUS_URI=http://host:port"
            )
        raise StoreError(f"cannot open Milvus at {uri}: {reason}") from None


# --- schema ---------------------------------------------------------------------------------


def _chunk_collection(client: Any, name: str, dimension: int) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=512)
    for field in ("doc_id", "source", "region", "parent_region", "report_title", "period", "section"):
        schema.add_field(field, DataType.VARCHAR, max_length=2048)
    for field in ("report_year", "year", "start"):
        schema.add_field(field, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
    analyzer = {  # as rag.indexing.lexical.tokenize: jieba's search mode, without stopwords and punctuation
        "tokenizer": {"type": "jieba", "mode": "search"},
        "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS | punctuation_tokens())}],
    }
    schema.add_field("index_text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["index_text"], output_field_names=["sparse"])
    )
    index = client.prepare_index_params()
    index.add_index("dense", index_type="FLAT", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    _create(client, name, schema, index)


def _create(client: Any, name: str, schema: Any, index: Any) -> None:
    """Create and load a collection. The index is asked for without waiting on it (``sync=False``):
    pymilvus would poll its state with a call Milvus Lite lacks (AllocTimestamp, 0.5 s retries);
    Lite builds it at once, and a server serves a loaded collection while it builds."""
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, index, sync=False)
    client.load_collection(name)


def _meta_collection(client: Any, name: str) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("value", DataType.VARCHAR, max_length=TEXT_BYTES)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=len(_PLACEHOLDER))
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    _create(client, name, schema, index)


def _row(chunk: Chunk, vector: np.ndarray) -> dict[str, object]:
    return {
        "key": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "region": chunk.region or "",
        "parent_region": chunk.parent_region or "",
        "report_title": chunk.report_title or "",
        "period": chunk.period,
        "section": chunk.section,
        "report_year": -1 if chunk.report_year is None else chunk.report_year,
        "year": -1 if chunk.year is None else chunk.year,
        "start": chunk.start,
        "text": chunk.text,
        "index_text": chunk.index_text,
        "dense": vector.astype(np.float32).tolist(),
    }


_CHUNK_FIELDS = ["key", "doc_id", "source", "region", "parent_region", "report_title", "period", "section",
                 "report_year", "year", "start", "text"]  # fmt: skip


def _chunk(row: Mapping[str, Any]) -> Chunk:
    def year(value: object) -> int | None:
        return None if value is None or int(value) < 0 else int(value)  # type: ignore[call-overload]

    return Chunk(
        chunk_id=str(row["key"]),
        doc_id=str(row["doc_id"]),
        source=str(row["source"]),
        region=row["region"] or None,
        parent_region=row["parent_region"] or None,
        report_year=year(row["report_year"]),
        report_title=row["report_title"] or None,
        year=year(row["year"]),
        period=str(row["period"]),
        section=str(row["section"]),
        start=int(row["start"]),
        text=str(row["text"]),
    )


def _meta_rows(manifest: Mapping[str, object], sources: Iterable[Mapping[str, object]], version: int) -> list[dict[str, object]]:
    head = {k: v for k, v in manifest.items() if k != "sources"}
    rows = [{"key": "manifest", "value": json.dumps(head, ensure_ascii=False)}, {"key": "version", "value": str(version)}]
    rows += [{"key": f"source:{s['source']}", "value": json.dumps(s, ensure_ascii=False)} for s in sources]
    return [{**row, "v": _PLACEHOLDER} for row in rows]


# --- reading ----------------------------------------------------------------------------------


class MilvusStore:
    """One generation of the index in Milvus, as it was when opened (its reports and version)."""

    kind = "milvus"

    def __init__(self, client: Any, settings: Settings, collection: str, manifest: dict[str, object], version: int) -> None:
        self.client = client
        self.settings = settings
        self.collection = collection
        self._manifest = manifest
        self._version = version
        self._timeout = settings.milvus_timeout

    @classmethod
    def open(cls, settings: Settings, client: Any = None) -> MilvusStore:
        """The live generation; :class:`IndexNotFoundError` when nothing was ingested yet."""
        client = client or connect(settings)
        collection = _live(client, settings)
        if collection is None:
            raise IndexNotFoundError(
                f"no index in Milvus collection {settings.milvus_collection!r} at {settings.milvus_uri}; build it with `rag ingest`"
            )
        _call("load", lambda: client.load_collection(collection))
        _call("load", lambda: client.load_collection(f"{collection}_meta"))
        manifest, version = _read_meta(client, collection)
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatchError(f"index format {manifest.get('format')} is not {INDEX_FORMAT}; run `rag ingest`")
        check_compatible(manifest, settings, check_files=False)  # a shared store is the corpus of record
        return cls(client, settings, collection, manifest, version)

    @property
    def manifest(self) -> Mapping[str, object]:
        return self._manifest

    @property
    def sources(self) -> list[dict[str, object]]:
        return list(self._manifest["sources"])  # type: ignore[call-overload]

    @property
    def generation(self) -> str:
        return f"{self.collection}.{self._version}"

    @property
    def size(self) -> int:
        return sum(int(s.get("chunks", 0)) for s in self.sources)  # type: ignore[call-overload]

    def latest_generation(self) -> str:
        collection = _live(self.client, self.settings)
        if collection is None:
            raise StoreError(f"the Milvus collection {self.settings.milvus_collection!r} is gone")
        rows = _call(
            "query",
            lambda: self.client.get(f"{collection}_meta", ids=["version"], output_fields=["value"], timeout=self._timeout),
        )
        return f"{collection}.{rows[0]['value'] if rows else 0}"

    def dense(self, vector: np.ndarray, n: int, where: Where) -> dict[Key, float]:
        found = _call(
            "search",
            lambda: self.client.search(
                self.collection, data=[np.asarray(vector, dtype=np.float32).ravel().tolist()], anns_field="dense",
                limit=n, filter=expression(where), search_params={"metric_type": "IP"}, output_fields=[], timeout=self._timeout,
            ),
        )  # fmt: skip
        return {hit["key"]: float(hit["distance"]) for hit in found[0]}

    def lexical(self, text: str, n: int, where: Where) -> dict[Key, float]:
        if not text.strip():
            return {}
        found = _call(
            "search",
            lambda: self.client.search(
                self.collection, data=[text], anns_field="sparse", limit=n, filter=expression(where),
                search_params={"metric_type": "BM25"}, output_fields=[], timeout=self._timeout,
            ),
        )  # fmt: skip
        scores = {hit["key"]: -float(hit["distance"]) for hit in found[0]}  # negative distances: best most negative
        return {key: score for key, score in scores.items() if score > 0}

    def chunks(self, keys: Sequence[Key]) -> list[Chunk]:
        if not keys:
            return []
        rows = _call(
            "get", lambda: self.client.get(self.collection, ids=list(keys), output_fields=_CHUNK_FIELDS, timeout=self._timeout)
        )
        by_key = {row["key"]: _chunk(row) for row in rows}
        missing = [key for key in keys if key not in by_key]
        if missing:  # removed by an update since the search: the next look swaps the generation
            raise StoreError(f"passages {missing[:3]} left the index while being read; ask again")
        return [by_key[key] for key in keys]

    def first_chunks(self) -> list[Chunk]:
        keys = [f"{s.get('doc_id')}#0" for s in self.sources]
        rows = _call(
            "get", lambda: self.client.get(self.collection, ids=keys, output_fields=_CHUNK_FIELDS, timeout=self._timeout)
        )
        by_key = {row["key"]: _chunk(row) for row in rows}
        return [by_key[key] for key in keys if key in by_key]

    def covered_years(self) -> dict[str, set[int]]:
        years: dict[str, set[int]] = {}
        for source in self.sources:
            if source.get("region"):
                years.setdefault(str(source["region"]), set()).update(int(y) for y in source.get("years") or [])  # type: ignore[attr-defined]
        return years

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a connection that is already gone
            logger.debug("closing the Milvus client failed", exc_info=True)


def _live(client: Any, settings: Settings) -> str | None:
    """The live generation's collection (``None``: nothing ingested yet)."""
    catalogue = settings.milvus_collection
    if not _call("list", lambda: client.has_collection(catalogue, timeout=settings.milvus_timeout)):
        return None
    _call("load", lambda: client.load_collection(catalogue))
    rows = _call("query", lambda: client.get(catalogue, ids=[CURRENT], output_fields=["value"], timeout=settings.milvus_timeout))
    return str(rows[0]["value"]) if rows else None


def _read_meta(client: Any, collection: str) -> tuple[dict[str, object], int]:
    rows = _call(
        "query", lambda: client.query(f"{collection}_meta", filter='key != ""', output_fields=["key", "value"], limit=QUERY_LIMIT)
    )
    values = {row["key"]: row["value"] for row in rows}
    if "manifest" not in values:
        raise IndexMismatchError(f"Milvus collection {collection} has no manifest; run `rag ingest`")
    manifest = json.loads(values["manifest"])
    sources = [json.loads(v) for k, v in values.items() if k.startswith("source:")]
    order = {name: i for i, name in enumerate(manifest.pop("order", []))}
    sources.sort(key=lambda s: (order.get(s["source"], len(order)), s["source"]))
    manifest["sources"] = sources
    return manifest, int(values.get("version", 0))


# --- writing ----------------------------------------------------------------------------------


def _insert(client: Any, collection: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
    for start in range(0, len(chunks), INSERT_BATCH):
        rows = [
            _row(c, v) for c, v in zip(chunks[start : start + INSERT_BATCH], vectors[start : start + INSERT_BATCH], strict=True)
        ]
        _call("insert", lambda rows=rows: client.insert(collection, rows))  # type: ignore[misc]


def _seal(client: Any, collection: str) -> None:
    """Flush what was written into sealed, indexed segments. Milvus Lite otherwise keeps it in its
    in-memory table (and its log, replayed there after a restart), which every search re-indexes from
    scratch: measured at 10k chunks, about 1 s per search before a flush."""
    _call("flush", lambda: client.flush(collection))


def _with_order(manifest: Mapping[str, object], sources: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """The manifest row also keeps the reports' order (Milvus returns rows in its own)."""
    return {**manifest, "order": [str(s["source"]) for s in sources]}


def replace(settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object]) -> MilvusStore:
    client = connect(settings)
    collection = f"{settings.milvus_collection}__g{time.time_ns()}"
    sources = list(manifest["sources"])  # type: ignore[call-overload]
    try:
        _call("create", lambda: _chunk_collection(client, collection, int(vectors.shape[1])))
        _call("create", lambda: _meta_collection(client, f"{collection}_meta"))
        _insert(client, collection, chunks, vectors)
        _seal(client, collection)
        version = time.time_ns()
        _call("insert", lambda: client.insert(f"{collection}_meta", _meta_rows(_with_order(manifest, sources), sources, version)))
        _switch(client, settings, collection)
    except BaseException:
        for name in (collection, f"{collection}_meta"):
            try:
                client.drop_collection(name)
            except Exception:  # noqa: BLE001 - best effort: the failure itself is what gets raised
                logger.warning("could not drop the unfinished collection %s", name)
        raise
    _prune(client, settings, keep=collection)
    logger.info("index written to Milvus collection %s (%d chunks)", collection, len(chunks))
    return MilvusStore.open(settings, client)


def _switch(client: Any, settings: Settings, collection: str) -> None:
    catalogue = settings.milvus_collection
    if not _call("list", lambda: client.has_collection(catalogue)):
        _call("create", lambda: _meta_collection(client, catalogue))
    _call("upsert", lambda: client.upsert(catalogue, [{"key": CURRENT, "value": collection, "v": _PLACEHOLDER}]))


def _prune(client: Any, settings: Settings, keep: str) -> None:
    prefix = f"{settings.milvus_collection}__g"
    names = _call("list", client.list_collections)
    generations = sorted(n for n in names if n.startswith(prefix) and not n.endswith("_meta"))
    for old in generations[:-KEEP_GENERATIONS]:
        if old != keep:
            for name in (old, f"{old}_meta"):
                _call("drop", lambda name=name: client.drop_collection(name))  # type: ignore[misc]


def update(
    settings: Settings, chunks: list[Chunk], vectors: np.ndarray, manifest: dict[str, object], remove: Sequence[str] = ()
) -> MilvusStore:
    """Delete the chunks of the removed and re-added reports from the live generation, insert the new
    ones, and record the reports and a new version (the signal for the other replicas)."""
    client = connect(settings)
    try:
        live = MilvusStore.open(settings, client)
    except IndexNotFoundError:
        return replace(settings, chunks, vectors, manifest)
    if live.manifest.get("dimension") != int(vectors.shape[1]):
        raise IndexMismatchError(
            f"vectors of {vectors.shape[1]} dimensions do not fit the index's {live.manifest.get('dimension')}"
        )
    added = list(manifest["sources"])  # type: ignore[call-overload]
    gone = list(dict.fromkeys([*remove, *(str(s["source"]) for s in added)]))
    collection = live.collection
    for name in gone:
        _call("delete", lambda name=name: client.delete(collection, filter=f"source == {_quoted(name)}"))  # type: ignore[misc]
    _insert(client, collection, chunks, vectors)
    _seal(client, collection)
    kept = [s for s in live.sources if s["source"] not in gone]
    sources = kept + added
    head = {k: v for k, v in live.manifest.items() if k != "sources"}
    head.update(chunks=sum(int(s.get("chunks", 0)) for s in sources), created_at=manifest.get("created_at"))
    meta = f"{collection}_meta"
    stale = [f"source:{name}" for name in gone]
    if stale:
        _call("delete", lambda: client.delete(meta, ids=stale))
    _call("upsert", lambda: client.upsert(meta, _meta_rows(_with_order(head, sources), sources, time.time_ns())))
    logger.info(
        "updated Milvus collection %s: +%d reports, -%d",
        collection,
        len(added),
        len(set(gone) - {str(s["source"]) for s in added}),
    )
    return MilvusStore.open(settings, client)
