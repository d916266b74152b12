"""The fixed DTSSVD dev/test mixtures of a ``dtssvd.build`` jsonl list, as a dataset.

Each row holds the mixing spec (:class:`jrsv.data.mix.MixSpec`), the source paths and the
transcripts, and optionally the written wavs; a row without wavs is re-mixed deterministically
(bit-exact) from the spec and the sources.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from torch.utils.data import Dataset

from jrsv.constants import SAMPLE_RATE
from jrsv.data.audio import load_audio
from jrsv.data.manifest import read_jsonl
from jrsv.data.mix import MixSpec, render
from jrsv.data.musdb import cached_music, load_music
from jrsv.data.records import MusicTrack
from jrsv.data.tensors import to_torch

SR = SAMPLE_RATE


class ManifestMixtures(Dataset):
    """Dev/test mixtures from a dtssvd.build jsonl: the written wavs if present, else
    re-mixed deterministically from the stored spec and the sources."""

    def __init__(self, manifest: str, music_cache: Optional[str] = None):
        self.rows = read_jsonl(manifest)
        self.root = Path(manifest).parent
        self.music_cache = music_cache

    def __len__(self) -> int:
        return len(self.rows)

    def arrays(self, i: int) -> dict:
        """Row i: mixture/speech/singing/music float32 (L,) (references placed as in the
        mixture), id, speech_text, singing_text (str), overlap (float)."""
        r = self.rows[i]
        if "wav" in r:
            out = {k: load_audio(self.root / p, SR) for k, p in r["wav"].items()}
        else:
            spec = MixSpec(**r["spec"])
            track = MusicTrack(r["music"]["id"], r["music"]["stems"])
            mx = cached_music(track, self.music_cache, SR) if self.music_cache else \
                load_music(track, SR)
            out = render(spec, load_audio(r["speech"]["path"], SR),
                         load_audio(r["singing"]["path"], SR), np.asarray(mx))
            out.pop("scale")
        out.update(id=r["id"], speech_text=r["speech"]["text"],
                   singing_text=r["singing"]["text"], overlap=float(r["overlap"]))
        return out

    def __getitem__(self, i: int) -> dict:
        """Row i with the arrays as torch tensors (L,) (see :meth:`arrays`)."""
        return to_torch(self.arrays(i))
