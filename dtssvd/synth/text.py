"""Sentences as the generators use them: words (for the word-segmented AISHELL transcript) and
numbered pinyin per character. The text itself comes from ``natural_text`` (Debian sources).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple


@dataclass(frozen=True)
class Sentence:
    """A generated sentence: words (for the AISHELL transcript) and per-character pinyin."""

    words: Tuple[str, ...]
    pinyin: Tuple[str, ...]  # numbered pinyin per character, tone 1-5 (5 = neutral)

    @property
    def text(self) -> str:
        """The characters without spaces."""
        return "".join(self.words)

    @property
    def chars(self) -> Tuple[str, ...]:
        return tuple(self.text)


def to_pinyin(text: str) -> List[str]:
    """Numbered pinyin (``Style.TONE3``, neutral tone as 5, ü as v) per character."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("pypinyin is missing: pip install pypinyin") from exc
    syl = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, v_to_u=False)
    if len(syl) != len(text):
        raise ValueError(f"pinyin/character count mismatch for {text!r}: {syl}")
    return [s.lower() for s in syl]


def split_disjoint(items: Sequence, sizes: Sequence[int]) -> List[list]:
    """Cut a list into consecutive disjoint parts of the given sizes."""
    if sum(sizes) > len(items):
        raise ValueError(f"need {sum(sizes)} sentences, have {len(items)}")
    out, start = [], 0
    for size in sizes:
        out.append(list(items[start:start + size]))
        start += size
    return out
