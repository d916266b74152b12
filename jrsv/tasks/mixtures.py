"""DTSSVD mixture datasets for the MTASS and JRSV tasks: on-the-fly training mixtures and the
fixed dev list, plus their collate function."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from jrsv.asr.tokenizer import CharTokenizer
from jrsv.data.manifest_mixtures import ManifestMixtures
from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.tasks import common

WAVES = ("mixture", "speech", "singing", "music")


def mixture_sets(conf: Mapping[str, Any], with_text: bool
                 ) -> tuple[OnTheFlyMixtures, ManifestMixtures]:
    """Training stream from the stage-0 source lists, and the stage-1 dev list.

    ``with_text``: whole mixtures (no crop) so the transcripts match the audio.
    """
    data = conf["data"]
    d = Path(data["dir"])
    crop = None if with_text else float(data.get("crop_seconds", 4.0))
    train = OnTheFlyMixtures(
        common.sources(d, "speech", "train"), common.sources(d, "singing", "train"),
        common.sources(d, "music", "train"), epoch_size=int(data.get("epoch_size", 2000)),
        crop_seconds=crop, seed=int(conf.get("seed", 0)),
        block=int(data.get("batch_size", 8)), cache_dir=str(d / "cache" / "audio"),
        preload=bool(data.get("preload", True)), noise_floor_dbfs=data.get("noise_floor_dbfs"),
        noise_floor_prob=float(data.get("noise_floor_prob", 1.0)))
    dev = d / "dtssvd" / "dev.jsonl"
    if not dev.is_file():
        raise FileNotFoundError(f"{dev}: DTSSVD dev list missing (run recipe stage 1)")
    valid = ManifestMixtures(str(dev), music_cache=str(d / "dtssvd" / "cache" / "musdb"))
    return train, valid


def mixture_collate(tok: CharTokenizer | None) -> Callable[[list[dict]], dict]:
    """Pads the four waveforms (B, N) + wav_lens (B,); with a tokenizer also
    speech/singing tokens (B, L) -1-padded and their lengths."""

    def collate(items: list[dict]) -> dict:
        out: dict[str, Any] = {}
        for k in WAVES:
            out[k], lens = common.pad_waveforms([it[k] for it in items])
        out["wav_lens"] = lens
        out["overlap"] = torch.tensor([float(it["overlap"]) for it in items])
        if tok is not None:
            for t in ("speech", "singing"):
                out[f"{t}_tokens"], out[f"{t}_token_lens"] = common.pad_token_lists(
                    [tok.encode(it[f"{t}_text"]) for it in items])
        return out

    return collate
