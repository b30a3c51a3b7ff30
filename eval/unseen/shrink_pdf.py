"""Shrink a PDF printed by headless Chromium that embedded a whole CJK font collection (~17 MB).

Chromium sometimes fails to subset the font it prints with and embeds all of wqy-zenhei.ttc. This
keeps only the glyphs the printed page can use — those the PDF's ToUnicode maps name, and those of
every character of the HTML page it was printed from — *with their glyph ids unchanged*, so no
content stream changes, and fixes the cross-reference offsets. The text layer stays byte for byte
what it was (the test data's point); only the file gets ~10× smaller.

    python eval/unseen/shrink_pdf.py report.pdf report.html   # rewrites report.pdf in place
"""

from __future__ import annotations

import io
import re
import sys
import zlib
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

_STREAM = re.compile(rb"<</Filter /FlateDecode\n/Length (\d+)>> stream\n")
_FONT_STREAM = re.compile(rb"<</Length1 (\d+)\n/Filter /FlateDecode\n/Length (\d+)>> stream\n")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf]) ?\r?\n")
#: A ToUnicode range wider than this is not taken as glyphs in use (Chromium writes a few wide ones).
_MAX_RANGE = 256


def glyphs_named(data: bytes) -> set[int]:
    """The glyph ids the PDF's ToUnicode maps name (single entries and narrow ranges)."""
    gids = {0}
    for m in _STREAM.finditer(data):
        try:
            text = zlib.decompress(data[m.end() : m.end() + int(m.group(1))])
        except zlib.error:
            continue
        if b"begincmap" not in text:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            gids.update(int(a, 16) for a in re.findall(rb"<([0-9A-Fa-f]+)>\s*<[0-9A-Fa-f]+>", block))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                if int(b, 16) - int(a, 16) < _MAX_RANGE:
                    gids.update(range(int(a, 16), int(b, 16) + 1))
    return gids


def shrink(pdf: Path, page: Path) -> tuple[int, int]:
    """Rewrite ``pdf`` with its largest embedded font subset; returns (old size, new size)."""
    data = pdf.read_bytes()
    big = max(_FONT_STREAM.finditer(data), key=lambda m: int(m.group(2)))
    start, end = big.start(), big.end() + int(big.group(2))
    raw = zlib.decompress(data[big.end() : end])
    font = TTFont(io.BytesIO(raw), fontNumber=0) if raw[:4] == b"ttcf" else TTFont(io.BytesIO(raw))
    order = font.getGlyphOrder()
    index = {name: i for i, name in enumerate(order)}
    cmap = font.getBestCmap()
    text = page.read_text(encoding="utf-8") + "".join(map(chr, range(32, 127)))
    gids = glyphs_named(data) | {index[cmap[ord(c)]] for c in set(text) if ord(c) in cmap}
    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=[order[g] for g in sorted(gids) if g < len(order)])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    packed = zlib.compress(out.getvalue(), 9)
    head = b"<</Length1 %d\n/Filter /FlateDecode\n/Length %d>> stream\n" % (len(out.getvalue()), len(packed))
    new = data[:start] + head + packed + data[end:]
    delta = len(new) - len(data)

    def shifted(m: re.Match[bytes]) -> bytes:
        offset = int(m.group(1))
        moved = offset + delta if offset > start and m.group(3) == b"n" else offset
        return b"%010d %s %s \n" % (moved, m.group(2), m.group(3))

    xref = new.rfind(b"\nxref\n") + 1
    trailer = new.find(b"trailer", xref)
    new = new[:xref] + _XREF_ENTRY.sub(shifted, new[xref:trailer]) + new[trailer:]
    startxref = re.search(rb"startxref\n(\d+)", new)
    assert startxref is not None, "a PDF ends with startxref"
    new = new[: startxref.start(1)] + str(int(startxref.group(1)) + delta).encode() + new[startxref.end(1) :]
    pdf.write_bytes(new)
    return len(data), len(new)


if __name__ == "__main__":
    before, after = shrink(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[1]}: {before} → {after} bytes")
