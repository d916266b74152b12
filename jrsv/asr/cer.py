"""Character error rate: Levenshtein alignment counts per utterance and corpus totals."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass
class ErrorCounts:
    """Alignment counts; ``cer = (sub + dele + ins) / ref_len`` (can exceed 1)."""

    hit: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0

    @property
    def ref_len(self) -> int:
        return self.hit + self.sub + self.dele

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins

    @property
    def cer(self) -> float:
        if self.ref_len == 0:
            return 0.0 if self.ins == 0 else float("inf")
        return self.errors / self.ref_len

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(self.hit + other.hit, self.sub + other.sub, self.dele + other.dele,
                           self.ins + other.ins)


def align_counts(ref: Sequence, hyp: Sequence) -> ErrorCounts:
    """Minimum-edit alignment of ``hyp`` to ``ref`` (unit costs), ties: fewer errors then
    substitutions first. Strings are compared per character, lists per element."""
    n, m = len(ref), len(hyp)
    # cost[i][j] = (errors, sub, dele, ins) for ref[:i] vs hyp[:j]
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [None] * m
        for j in range(1, m + 1):
            d = prev[j - 1]
            if ref[i - 1] == hyp[j - 1]:
                best = d
            else:
                best = (d[0] + 1, d[1] + 1, d[2], d[3])
            u = prev[j]
            best = min(best, (u[0] + 1, u[1], u[2] + 1, u[3]))
            left = cur[j - 1]
            best = min(best, (left[0] + 1, left[1], left[2], left[3] + 1))
            cur[j] = best
        prev = cur
    errors, sub, dele, ins = prev[m]
    return ErrorCounts(hit=n - sub - dele, sub=sub, dele=dele, ins=ins)


def cer(ref: Sequence, hyp: Sequence) -> float:
    """Character error rate of one utterance."""
    return align_counts(ref, hyp).cer


def corpus_cer(pairs: Sequence[tuple[Sequence, Sequence]]) -> ErrorCounts:
    """Sum of per-utterance counts over (ref, hyp) pairs; ``.cer`` is the corpus CER."""
    total = ErrorCounts()
    for ref, hyp in pairs:
        total = total + align_counts(ref, hyp)
    return total
