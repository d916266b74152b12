"""Character and BPE tokenizers with WeNet unit tables.

``units.txt`` lines are ``<unit> <id>``. Two WeNet layouts are read: the classic one
(``<blank> 0``, ``<unk> 1``, units..., ``<sos/eos> V-1``; what jrsv writes) and the one WeNet
recipes write since 2024 (``<blank> 0``, ``<unk> 1``, ``<sos/eos> 2``, units...). The special ids
are looked up, never assumed: ``<sos/eos>`` wherever the table has it, or WeNet's
``tokenizer_conf.special_tokens`` (``<blank>``, ``<unk>``, ``<sos>``, ``<eos>``) when given.
Chinese: one token per character, spaces removed; Latin words kept whole, upper-cased
(WeNet aishell recipe). :meth:`CharTokenizer.decode` is the one detokeniser of the library.
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
    """Read a WeNet ``units.txt`` -> unit strings in id order; ids must be 0..V-1 (any order in
    the file). The only units.txt reader of the library; ``ValueError`` naming the file (and
    line) on a bad table."""
    table: dict[int, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read the unit table ({e})") from e
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path}:{ln}: expected '<unit> <id>', got {line[:40]!r}")
        if int(parts[1]) in table:
            raise ValueError(f"{path}:{ln}: id {parts[1]} given twice")
        table[int(parts[1])] = parts[0]
    if sorted(table) != list(range(len(table))):
        raise ValueError(f"{path}: ids are not 0..{len(table) - 1}")
    return [table[i] for i in range(len(table))]


def special_ids(units: list[str], special_tokens: dict[str, int] | None = None,
                source: str | Path = "unit table") -> dict[str, int]:
    """``{"blank", "unk", "sos", "eos"}`` ids of a unit table.

    ``special_tokens``: WeNet ``tokenizer_conf.special_tokens`` (``{"<blank>": 0, "<unk>": 1,
    "<sos>": 2, "<eos>": 2}``), when the model's train.yaml has it; else the ids of
    ``<blank>``, ``<unk>`` and ``<sos/eos>`` in the table. ``<blank>`` must be id 0 (CTC).
    ``ValueError`` naming ``source`` when an id is missing, out of range or disagrees with the
    table.
    """
    v = len(units)
    if v < 3:
        raise ValueError(f"{source}: {v} units; need <blank>, a unit and <sos/eos>")
    index = {u: i for i, u in enumerate(units)}
    ids = {"blank": index.get(BLANK), "unk": index.get(UNK, 1),
           "sos": index.get(SOS_EOS, index.get("<sos>")),
           "eos": index.get(SOS_EOS, index.get("<eos>"))}
    for name, key in (("blank", "<blank>"), ("unk", "<unk>"), ("sos", "<sos>"), ("eos", "<eos>")):
        if special_tokens and key in special_tokens:
            i = special_tokens[key]
            if not isinstance(i, int) or not 0 <= i < v:
                raise ValueError(f"{source}: special token {key} id {i!r} is not in 0..{v - 1}")
            if units[i] not in ({key, SOS_EOS} if name in ("sos", "eos") else {key}):
                raise ValueError(f"{source}: special token {key} is id {i}, but the unit table "
                                 f"has {units[i]!r} there")
            ids[name] = i
    if ids["blank"] != 0:
        raise ValueError(f"{source}: <blank> must be id 0 (got {ids['blank']})")
    if ids["sos"] is None or ids["eos"] is None:
        raise ValueError(f"{source}: no <sos/eos> unit (and no <sos>/<eos> special tokens)")
    return ids


def format_units(units: Iterable[str]) -> str:
    """Unit strings in id order -> ``units.txt`` text (``<unit> <id>`` lines)."""
    return "".join(f"{u} {i}\n" for i, u in enumerate(units))


def write_units(units: list[str], path: str | Path) -> None:
    """``units.txt`` written atomically."""
    from jrsv.atomic import atomic_write_text

    atomic_write_text(path, format_units(units))


def detokenize(pieces: Iterable[str]) -> str:
    """Unit strings -> text: sentencepiece ``▁`` (and a ``<space>`` unit) start a word; otherwise
    :func:`join_tokens` (CJK characters glued, one space between two Latin words)."""
    pieces = ["\u2581" if p == "<space>" else p for p in pieces]
    if any("\u2581" in p for p in pieces):
        return " ".join("".join(pieces).replace("\u2581", " ").split())
    return join_tokens(pieces)


class CharTokenizer:
    """Character tokenizer over a unit table (list of units or a ``units.txt`` path).

    ``special_tokens``: WeNet ``tokenizer_conf.special_tokens`` (see :func:`special_ids`).
    Attributes ``blank_id`` (0), ``unk_id``, ``sos_id``, ``eos_id``.
    """

    def __init__(self, units: str | Path | list[str],
                 special_tokens: dict[str, int] | None = None):
        source = units if isinstance(units, (str, Path)) else "unit table"
        self.units = read_units(units) if isinstance(units, (str, Path)) else list(units)
        ids = special_ids(self.units, special_tokens, source)
        self.blank_id, self.unk_id, self.sos_id, self.eos_id = (
            ids["blank"], ids["unk"], ids["sos"], ids["eos"])
        self.index = {u: i for i, u in enumerate(self.units)}

    @property
    def vocab_size(self) -> int:
        return len(self.units)

    def tokenize(self, text: str) -> list[str]:
        return split_text(text)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(t, self.unk_id) for t in split_text(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids -> text (the library's one detokeniser): ``<blank>``, ``<sos>``, ``<eos>``
        dropped, out-of-range ids shown as ``<unk>``, CJK glued, Latin words spaced
        (``[我, 爱, HELLO, WORLD, 你]`` -> ``我爱HELLO WORLD你``), BPE ``▁`` marks words."""
        specials = {self.blank_id, self.sos_id, self.eos_id}
        return detokenize(self.units[i] if 0 <= i < len(self.units) else UNK
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
