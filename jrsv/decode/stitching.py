"""Token stitching across overlapping ASR pieces (pure functions).

Each recognised piece starts at STFT frame ``start``; its tokens carry CTC peak times in encoder
frames (x4 subsampling -> STFT frames). A token is kept only by the piece whose *owned* region
``[own_start, own_end)`` contains its peak time. Owned regions of consecutive pieces meet in the
middle of their overlap, so every word is emitted exactly once: a word in the overlap is seen by
both pieces, but its peak lies on one side of the middle -- provided both pieces put it on the
same encoder-frame grid, i.e. overlapping pieces start a multiple of :data:`SUBSAMPLING` frames
apart (:class:`jrsv.decode.vad.TrackSegmenter` cuts them so). Pieces 1,125 frames apart would
place one word at frame 5688 in one and 5685 in the other, on either side of a border at 5688,
and lose it; :func:`stitch_tokens` refuses such pieces.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jrsv.constants import FRAME_SEC, SUBSAMPLING  # encoder frame = 4 STFT frames of 16 ms

ENC_FRAME_SEC = SUBSAMPLING * FRAME_SEC  # 64 ms


@dataclass
class PieceTokens:
    """Recognition of one piece: token ids, their CTC peak times (encoder frames, relative to the
    piece), per-token confidences, and the piece geometry in STFT frames."""
    start: int
    own_start: int
    own_end: int
    tokens: list[int]
    times: list[int]
    confidences: list[float] = field(default_factory=list)


@dataclass
class StitchedToken:
    token: int
    frame: int             # global STFT frame of the CTC peak
    confidence: float

    @property
    def time(self) -> float:
        return self.frame * FRAME_SEC


def token_frame(piece_start: int, enc_time: int) -> int:
    """Global STFT frame of an encoder-frame time inside a piece starting at ``piece_start``."""
    return piece_start + SUBSAMPLING * enc_time


def owned_tokens(piece: PieceTokens) -> list[StitchedToken]:
    """Tokens of ``piece`` whose peak frame lies in its owned region, with global frames."""
    confs = piece.confidences or [1.0] * len(piece.tokens)
    out = []
    for tok, t, c in zip(piece.tokens, piece.times, confs):
        frame = token_frame(piece.start, t)
        if piece.own_start <= frame < piece.own_end:
            out.append(StitchedToken(tok, frame, float(c)))
    return out


def stitch_tokens(pieces: list[PieceTokens]) -> list[StitchedToken]:
    """Merge overlapping pieces (sorted by start) into one token sequence without duplicates.

    Owned regions must not overlap (``own_end`` of one <= ``own_start`` of the next), and
    pieces that overlap (the next starts before this one's owned region ends) must start a
    multiple of :data:`SUBSAMPLING` frames apart; ``ValueError`` otherwise.
    """
    ordered = sorted(pieces, key=lambda p: p.start)
    for a, b in zip(ordered, ordered[1:]):
        if a.own_end > b.own_start:
            raise ValueError(f"owned regions overlap: [{a.own_start}, {a.own_end}) and "
                             f"[{b.own_start}, {b.own_end})")
        if b.start < a.own_end and (b.start - a.start) % SUBSAMPLING:
            raise ValueError(f"overlapping pieces starting at frames {a.start} and {b.start} are "
                             f"not on the same {SUBSAMPLING}-frame grid (a word near the border "
                             f"at {a.own_end} could be lost or duplicated)")
    out: list[StitchedToken] = []
    for p in ordered:
        out.extend(owned_tokens(p))
    return out


def naive_concat(pieces: list[PieceTokens]) -> list[int]:
    """What plain concatenation would give (duplicates words in overlaps); for comparison."""
    return [t for p in sorted(pieces, key=lambda p: p.start) for t in p.tokens]
