"""The DTSSVD test set for evaluation: manifest lookup, row selection, length-sorted batches.

Rows come from a ``dtssvd.build`` manifest (any path; the caller names it) through
:class:`jrsv.data.manifest_mixtures.ManifestMixtures` (written wavs, or re-mixed from the stored spec).
Batches are sorted by mixture length (longest first, so an out-of-memory shows at once) and
filled up to a budget of padded STFT frames. Every tensor is padded with zeros on the right.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from jrsv.constants import HOP_LENGTH
from jrsv.data.manifest_mixtures import ManifestMixtures
from jrsv.nn.padding import pad_sequences

HOP = HOP_LENGTH  # STFT hop of the separator front-end (frames = samples // HOP + 1)


class ManifestError(RuntimeError):
    """The test manifest is missing or unusable (message is one line)."""


def overlap_key(overlap: float) -> str:
    """0.3 -> "0.3" (the score files' per_overlap keys)."""
    return f"{float(overlap):.1f}"


def row_samples(row: dict) -> int:
    """Mixture length of a manifest row in samples (from its spec; no audio read)."""
    return int(row["spec"]["length"])


def select_rows(rows: list[dict], max_utts: int | None) -> list[int]:
    """Indices of the rows to evaluate: all, or ``max_utts`` taken round-robin over the
    overlap ratios in manifest order (so every ratio present in the manifest stays present)."""
    if max_utts is None or max_utts >= len(rows):
        return list(range(len(rows)))
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(overlap_key(r["overlap"]), []).append(i)
    queues = [groups[k] for k in sorted(groups)]
    out: list[int] = []
    depth = 0
    while len(out) < max_utts:
        for q in queues:
            if depth < len(q) and len(out) < max_utts:
                out.append(q[depth])
        depth += 1
    return sorted(out)


def length_batches(lengths: list[int], indices: list[int], max_frames: int,
                   max_batch: int) -> list[list[int]]:
    """Group ``indices`` (longest first) so that batch size x longest item (in STFT frames)
    stays within ``max_frames`` and the size within ``max_batch``; one item always fits."""
    order = sorted(indices, key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        frames = lengths[i] // HOP + 1
        longest = lengths[cur[0]] // HOP + 1 if cur else frames
        if cur and ((len(cur) + 1) * longest > max_frames or len(cur) >= max_batch):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


@dataclass
class Batch:
    """A padded batch of test rows.

    mixture, speech, singing: (B, N) float32, the references placed as in the mixture;
    samples: (B,) valid samples; speech_span, singing_span: (B, 2) [start, end) of each voice
    inside the mixture (where its reference is non-zero by construction);
    ids, overlaps (score keys "0.0" ...), speech_text, singing_text: lists of B.
    """

    ids: list[str]
    overlaps: list[str]
    speech_text: list[str]
    singing_text: list[str]
    mixture: torch.Tensor
    speech: torch.Tensor
    singing: torch.Tensor
    samples: torch.Tensor
    speech_span: torch.Tensor
    singing_span: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)


def pad_stack(xs: list[torch.Tensor]) -> torch.Tensor:
    """[(N_i,)] -> (B, max N_i) zero-padded."""
    return pad_sequences(xs)[0]


class _Rows(Dataset):
    def __init__(self, ds: ManifestMixtures):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        item = self.ds[i]
        spec = self.ds.rows[i]["spec"]
        item["speech_span"] = (spec["speech_offset"], spec["speech_offset"] + spec["speech_len"])
        item["singing_span"] = (spec["singing_offset"],
                                spec["singing_offset"] + spec["singing_len"])
        return item


def collate(items: list[dict]) -> Batch:
    return Batch(
        ids=[it["id"] for it in items],
        overlaps=[overlap_key(it["overlap"]) for it in items],
        speech_text=[it["speech_text"] for it in items],
        singing_text=[it["singing_text"] for it in items],
        mixture=pad_stack([it["mixture"] for it in items]),
        speech=pad_stack([it["speech"] for it in items]),
        singing=pad_stack([it["singing"] for it in items]),
        samples=torch.tensor([it["mixture"].numel() for it in items]),
        speech_span=torch.tensor([it["speech_span"] for it in items]),
        singing_span=torch.tensor([it["singing_span"] for it in items]))


class EvalSet:
    """The selected rows of a manifest, iterated as length-sorted padded :class:`Batch` es.

    Args:
        manifest: dtssvd.build jsonl.
        music_cache: resampled MUSDB cache (re-mixing rows without written wavs).
        max_utts: evaluate this many rows (stratified over overlaps, see :func:`select_rows`).
        max_frames: padded STFT-frame budget per batch; max_batch: rows per batch at most.
        num_workers: DataLoader workers reading / re-mixing audio.
    """

    def __init__(self, manifest: Path, music_cache: Path | None = None,
                 max_utts: int | None = None, max_frames: int = 12000, max_batch: int = 32,
                 num_workers: int = 0):
        try:
            self.data = ManifestMixtures(str(manifest), str(music_cache) if music_cache else None)
        except (OSError, ValueError) as e:
            raise ManifestError(f"cannot read test manifest {manifest}: {e}") from e
        if not len(self.data):
            raise ManifestError(f"test manifest {manifest} has no rows")
        try:
            lengths = [row_samples(r) for r in self.data.rows]
        except (KeyError, TypeError) as e:
            raise ManifestError(f"test manifest {manifest}: a row lacks spec.length ({e})") from e
        self.indices = select_rows(self.data.rows, max_utts)
        self.batches = length_batches(lengths, self.indices, max_frames, max_batch)
        self.num_workers = num_workers

    def __len__(self) -> int:
        """Rows evaluated."""
        return len(self.indices)

    def row(self, i: int) -> dict:
        return self.data.rows[i]

    def __iter__(self) -> Iterator[Batch]:
        loader = DataLoader(_Rows(self.data), batch_sampler=self.batches, collate_fn=collate,
                            num_workers=self.num_workers)
        yield from loader

    def item(self, i: int) -> Batch:
        """Row ``i`` of the manifest alone, as a batch of one."""
        return collate([_Rows(self.data)[i]])
