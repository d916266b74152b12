"""Natural Chinese text from Debian packages (read offline, never downloaded at run time).

Sources (``SOURCES``):

- ``fortunes-zh``: ``/usr/share/games/fortunes/chinese`` (sayings, quotations, prose; one document per
  ``%``-separated fortune), ``tang300`` (300 Tang poems) and ``song100`` (100 Song ci), one poem per document;
- ``manpages-zh``: ``/usr/share/man/zh_CN/man*/*.gz`` (technical prose), one document per page.

Speech sentences come from ``chinese`` and the man pages, lyric lines from the poems (and short
fortune lines). Every document is assigned as a whole to train, dev or test (``partition``), so no
sentence of a held-out document is ever read or sung in training.

Cleaning (``clean_sentence``): ANSI escapes and roff markup removed, lines of a paragraph joined,
split at sentence punctuation (long sentences further at clause punctuation, regrouped up to the
maximum length), Arabic numerals read out as Chinese numerals (``read_number``), the remaining
punctuation removed; a sentence is kept only if it is 5-30 CJK characters with no Latin letter
(``MIN_CHARS``/``MAX_CHARS``). Duplicates are dropped (first occurrence wins, in document order).
"""
from __future__ import annotations

import glob
import gzip
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

FORTUNES_DIR = "/usr/share/games/fortunes"
MANPAGES_GLOB = "/usr/share/man/zh_CN/man*/*.gz"
#: source name -> (Debian package, kind of text)
SOURCES: Dict[str, Tuple[str, str]] = {
    "chinese": ("fortunes-zh", "speech"),
    "man": ("manpages-zh", "speech"),
    "tang300": ("fortunes-zh", "lyric"),
    "song100": ("fortunes-zh", "lyric"),
}
MIN_CHARS, MAX_CHARS = 5, 30
LYRIC_MIN, LYRIC_MAX = 5, 14
#: sentences (lyric lines) that the held-out documents (poems) of each split hold at least; fixed for
#: every preset, so the held-out text depends on the seed only
HELD_SPEECH = {"dev": 700, "test": 700}
HELD_LYRIC = {"dev": 120, "test": 120}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ROFF_ESC = re.compile(r"\\f[A-Z0-9PR]|\\\(..|\\[-&|^,/%e]|\\\*\(?..")
_SENT_END = re.compile(r"[。！？；!?;]+|\n\s*\n")
_CLAUSE = re.compile(r"[，、,：:]")
_DROP = re.compile(r"[。！？；!?;，、,：:“”\"'‘’（）()《》〈〉「」『』【】\[\]…—\-·・~～\s　]+")
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?(%?)")
_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Document:
    """One source document (a fortune, a poem or a man page)."""

    source: str
    index: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.source}/{self.index}"


def read_number(digits: str, frac: str = "", percent: str = "") -> str:
    """Chinese reading of an Arabic numeral: values below 10^8 as a number (``2048`` -> 二千零四十八),
    longer digit strings digit by digit; ``.5`` -> 点五; ``%`` -> 百分之 in front."""
    if len(digits) > 8 or (len(digits) > 1 and digits.startswith("0")):
        out = "".join(_DIGITS[int(d)] for d in digits)
    else:
        out = _int_reading(int(digits))
    if frac:
        out += "点" + "".join(_DIGITS[int(d)] for d in frac)
    return ("百分之" + out) if percent else out


def _int_reading(n: int) -> str:
    if n == 0:
        return "零"
    if n >= 10000:
        high, low = divmod(n, 10000)
        rest = _int_reading(low) if low else ""
        if low and low < 1000:
            rest = "零" + rest
        return _int_reading(high) + "万" + rest
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d:
            if zero and out:
                out += "零"
            out += _DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    if out.startswith("一十"):
        out = out[1:]  # 十二, not 一十二
    return out


def _numbers_read(s: str) -> str:
    def year(m: re.Match) -> str:
        return "".join(_DIGITS[int(d)] for d in m.group(1)) + "年"

    s = re.sub(r"(\d{4})年", year, s)  # years are read digit by digit
    return _NUMBER.sub(lambda m: read_number(m.group(1), m.group(2) or "", m.group(3)), s)


def clean_sentence(raw: str, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> Optional[str]:
    """The spoken form of one sentence, or None when it is not 5-30 CJK characters after cleaning."""
    s = _DROP.sub("", _numbers_read(raw))
    if min_chars <= len(s) <= max_chars and _CJK_ONLY.match(s):
        return s
    return None


def split_sentences(text: str, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> List[str]:
    """Cleaned sentences of one document's text (lines of a paragraph joined; long sentences cut at
    clause punctuation and regrouped up to ``max_chars``)."""
    out: List[str] = []
    for para in _SENT_END.split(text):
        para = para.replace("\n", "")
        whole = clean_sentence(para, max_chars, min_chars)
        if whole is not None:
            out.append(whole)
            continue
        group = ""
        for clause in _CLAUSE.split(para):
            c = _DROP.sub("", _numbers_read(clause))
            if group and len(group) + len(c) > max_chars:
                kept = clean_sentence(group, max_chars, min_chars)
                if kept:
                    out.append(kept)
                group = ""
            group += c
        kept = clean_sentence(group, max_chars, min_chars) if group else None
        if kept:
            out.append(kept)
    return out


def _read_fortunes(name: str, root: str) -> List[Document]:
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        raise RuntimeError(f"{path}: not found: install the Debian package 'fortunes-zh' "
                           "(tools/install_system_deps.sh)")
    with open(path, encoding="utf-8", errors="replace") as f:
        parts = re.split(r"\n%\n", f.read())
    docs = []
    for i, p in enumerate(parts):
        body = _ANSI.sub("", p)
        if name in ("tang300", "song100"):  # drop the title and author lines
            body = "\n".join(line for line in body.splitlines() if not line.startswith(("《", "作者", "题目")))
        docs.append(Document(name, i, body))
    return docs


def _read_manpages(pattern: str) -> List[Document]:
    files = sorted(glob.glob(pattern))
    if not files:
        raise RuntimeError(f"{pattern}: no zh_CN man pages: install the Debian package 'manpages-zh' "
                           "(tools/install_system_deps.sh)")
    docs = []
    for i, path in enumerate(files):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            lines = [line for line in f.read().splitlines() if not line.startswith((".", "'"))]
        docs.append(Document("man", i, _ROFF_ESC.sub("", "\n\n".join(lines))))
    return docs


def read_documents(fortunes_dir: str = FORTUNES_DIR, manpages: str = MANPAGES_GLOB) -> List[Document]:
    """Every document of every source, in a fixed order."""
    docs: List[Document] = []
    for name in ("chinese", "tang300", "song100"):
        docs += _read_fortunes(name, fortunes_dir)
    docs += _read_manpages(manpages)
    return docs


def lyric_lines(doc: Document) -> List[str]:
    """Lyric lines of a poem: each couplet (two verses) if it fits ``LYRIC_MAX``, else each verse."""
    verses = [v for v in (_DROP.sub("", x) for x in re.split(r"[，。？！；,?!;\n]+", doc.text))
              if v and _CJK_ONLY.match(v)]
    out: List[str] = []
    i = 0
    while i < len(verses):
        pair = verses[i] + (verses[i + 1] if i + 1 < len(verses) else "")
        if i + 1 < len(verses) and LYRIC_MIN <= len(pair) <= LYRIC_MAX:
            out.append(pair)
            i += 2
            continue
        if LYRIC_MIN <= len(verses[i]) <= LYRIC_MAX:
            out.append(verses[i])
        i += 1
    return out


@dataclass
class TextPools:
    """Cleaned, deduplicated sentences and lyric lines per split, with their statistics."""

    speech: Dict[str, List[str]]
    lyric: Dict[str, List[str]]
    units: List[str]
    stats: Dict[str, object]


def partition(docs: Sequence[Document], held: Dict[str, int], seed: int,
              sentences_of) -> Dict[str, List[Document]]:
    """Assign whole documents to splits: shuffled (seeded) documents go to dev and test until each
    holds at least ``held[split]`` sentences, the rest to train."""
    order = list(docs)
    random.Random(f"text-partition-{seed}").shuffle(order)
    out: Dict[str, List[Document]] = {"train": [], "dev": [], "test": []}
    count = {"dev": 0, "test": 0}
    for doc in order:
        need = [s for s in ("test", "dev") if count[s] < held.get(s, 0)]
        if need:
            out[need[0]].append(doc)
            count[need[0]] += len(sentences_of(doc))
        else:
            out["train"].append(doc)
    return out


def coverage_units(texts: Iterable[str], coverage: float = 0.99, min_units: int = 2000) -> List[str]:
    """The most frequent characters that together cover ``coverage`` of the text, at least
    ``min_units`` of them (fewer only when the text has fewer distinct characters); sorted."""
    counts = Counter()
    for t in texts:
        counts.update(t)
    total = sum(counts.values())
    chosen, acc = [], 0
    for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if acc >= coverage * total and len(chosen) >= min_units:
            break
        chosen.append(ch)
        acc += n
    return sorted(chosen)


def bigram_overlap(test: Sequence[str], train: Sequence[str]) -> float:
    """Fraction of the test text's character bigram tokens that also occur in the training text."""
    seen = {t[i:i + 2] for t in train for i in range(len(t) - 1)}
    grams = [t[i:i + 2] for t in test for i in range(len(t) - 1)]
    return sum(g in seen for g in grams) / max(1, len(grams))


def build_pools(seed: int, held_speech: Dict[str, int], held_lyric: Dict[str, int],
                docs: Optional[Sequence[Document]] = None) -> TextPools:
    """Speech sentences and lyric lines per split, from a document partition per kind of text.

    Characters outside the units (computed on the training text) are never dropped silently: the
    sentences that hold them are skipped and counted (``stats['skipped_oov']``); a held-out sentence
    that also occurs in a training document is skipped too (``stats['skipped_in_train']``).
    """
    docs = list(docs) if docs is not None else read_documents()
    speech_docs = [d for d in docs if SOURCES[d.source][1] == "speech"]
    lyric_docs = [d for d in docs if SOURCES[d.source][1] == "lyric"]
    sp_cache = {d.key: split_sentences(d.text) for d in speech_docs}
    ly_cache = {d.key: lyric_lines(d) for d in lyric_docs}
    sp_parts = partition(speech_docs, held_speech, seed, lambda d: sp_cache[d.key])
    ly_parts = partition(lyric_docs, held_lyric, seed + 1, lambda d: ly_cache[d.key])

    def collect(parts, cache) -> Dict[str, List[str]]:
        out: Dict[str, List[str]] = {}
        seen: set = set()
        for split in ("train", "dev", "test"):  # train first: held-out copies of train text are dropped
            items = []
            for d in sorted(parts[split], key=lambda d: (d.source, d.index)):
                for s in cache[d.key]:
                    if s not in seen:
                        seen.add(s)
                        items.append(s)
            out[split] = items
        return out

    speech, lyric = collect(sp_parts, sp_cache), collect(ly_parts, ly_cache)
    units = coverage_units(speech["train"] + lyric["train"])
    unit_set = set(units)
    skipped: Dict[str, int] = {}
    for name, pools in (("speech", speech), ("lyric", lyric)):
        for split, items in pools.items():
            kept = [s for s in items if set(s) <= unit_set]
            skipped[f"{name}_{split}"] = len(items) - len(kept)
            pools[split] = kept
    train_text = speech["train"] + lyric["train"]
    stats = {
        "sources": {k: {"package": v[0], "kind": v[1]} for k, v in SOURCES.items()},
        "documents": {kind: {s: len(p[s]) for s in p} for kind, p in (("speech", sp_parts), ("lyric", ly_parts))},
        "sentences": {k: {s: len(p[s]) for s in p} for k, p in (("speech", speech), ("lyric", lyric))},
        "units": len(units),
        "skipped_oov": skipped,
    }
    stats["bigram_overlap_test_train"] = {
        "speech": round(bigram_overlap(speech["test"], train_text), 4),
        "lyric": round(bigram_overlap(lyric["test"], train_text), 4)}
    return TextPools(speech, lyric, units, stats)


def unit_coverage(texts: Sequence[str], units: Sequence[str]) -> float:
    """Fraction of the characters of ``texts`` that are in ``units``."""
    u = set(units)
    total = sum(len(t) for t in texts)
    return sum(c in u for t in texts for c in t) / max(1, total)


def words_of(text: str) -> Tuple[str, ...]:
    """Word segmentation (pypinyin's phrase-dictionary mmseg), for the AISHELL-style transcript."""
    from pypinyin.seg.mmseg import seg

    words = tuple(w for w in seg.cut(text) if w)
    if "".join(words) != text:
        raise ValueError(f"segmentation changed the text: {text!r}")
    return words
