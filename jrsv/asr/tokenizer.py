"""Character and BPE tokenizers with WeNet unit tables.

``units.txt`` lines are ``<unit> <id>``: ``<blank> 0``, ``<unk> 1``, units..., ``<sos/eos> V-1``.
Chinese: one token per character, spaces removed; Latin words kept whole, upper-cased
(WeNet aishell recipe).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

BLANK, UNK, SOS_EOS = "<blank>", "<unk>", "<sos/eos>"
_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def split_text(text: str) -> list[str]:
    """Text -> character/word tokens: each CJK character alone, other runs split on spaces,
    upper-cased."""
    out: list[str] = []
    for part in _CJK.split(text):
        if not part:
            continue
        if _CJK.fullmatch(part):
            out.append(part)
        else:
            out.extend(part.upper().split())
    return out


def join_tokens(tokens: Iterable[str]) -> str:
    """Inverse of :func:`split_text`: CJK glued, a space between two non-CJK words."""
    text = ""
    prev_latin = False
    for tok in tokens:
        latin = not _CJK.fullmatch(tok)
        text += (" " if latin and prev_latin else "") + tok
        prev_latin = latin
    return text


def build_char_units(texts: Iterable[str]) -> list[str]:
    """Unit table (id order) from training texts: blank, unk, sorted tokens, sos/eos."""
    units = sorted({t for text in texts for t in split_text(text)} - {BLANK, UNK, SOS_EOS})
    return [BLANK, UNK] + units + [SOS_EOS]


def read_units(path: str | Path) -> list[str]:
    """Read a WeNet ``units.txt``; ids must be 0..V-1 (any order in the file)."""
    table: dict[int, str] = {}
    for ln, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path}:{ln}: expected '<unit> <id>', got {line!r}")
        table[int(parts[1])] = parts[0]
    if sorted(table) != list(range(len(table))):
        raise ValueError(f"{path}: ids are not 0..{len(table) - 1}")
    return [table[i] for i in range(len(table))]


def write_units(units: list[str], path: str | Path) -> None:
    Path(path).write_text("".join(f"{u} {i}\n" for i, u in enumerate(units)), encoding="utf-8")


class CharTokenizer:
    """Character tokenizer over a unit table (list of units or a ``units.txt`` path)."""

    def __init__(self, units: str | Path | list[str]):
        self.units = read_units(units) if isinstance(units, (str, Path)) else list(units)
        if len(self.units) < 3 or self.units[0] != BLANK or self.units[-1] != SOS_EOS:
            raise ValueError("unit table must start with <blank> and end with <sos/eos>")
        self.index = {u: i for i, u in enumerate(self.units)}
        self.unk_id = self.index.get(UNK, 1)

    @property
    def vocab_size(self) -> int:
        return len(self.units)

    def tokenize(self, text: str) -> list[str]:
        return split_text(text)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(t, self.unk_id) for t in split_text(text)]

    def decode(self, ids: Iterable[int]) -> str:
        specials = {0, len(self.units) - 1}
        return join_tokens(self.units[i] if 0 <= i < len(self.units) else UNK
                           for i in ids if i not in specials)


def train_bpe(texts: Iterable[str], vocab_size: int, model_prefix: str | Path) -> Path:
    """Train a sentencepiece BPE model on upper-cased texts; returns ``PREFIX.model``."""
    import sentencepiece as spm
    prefix = Path(model_prefix)
    corpus = prefix.with_suffix(".txt")
    corpus.write_text("".join(" ".join(split_text(t)) + "\n" for t in texts), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(prefix),
                                   vocab_size=vocab_size, model_type="bpe", character_coverage=1.0,
                                   unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
                                   hard_vocab_limit=False, minloglevel=2)
    return prefix.with_suffix(".model")


class BpeTokenizer:
    """Sentencepiece tokenizer; ids: ``<blank>`` 0, sentencepiece id + 1 (``<unk>`` 1), ``<sos/eos>`` last."""

    def __init__(self, model: str | Path):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=str(model))
        pieces = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]
        self.units = [BLANK, UNK] + pieces[1:] + [SOS_EOS]

    @property
    def vocab_size(self) -> int:
        return len(self.units)

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self.sp.encode(" ".join(split_text(text)))]

    def decode(self, ids: Iterable[int]) -> str:
        n = self.sp.get_piece_size()
        return self.sp.decode([i - 1 for i in ids if 1 <= i <= n])
