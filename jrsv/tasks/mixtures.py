"""DTSSVD mixture datasets for the MTASS and JRSV tasks: on-the-fly training mixtures and the
fixed dev list, plus their collate function."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

from jrsv.asr.tokenizer import CharTokenizer
from jrsv.data.data_paths import DataPaths
from jrsv.data.manifest_mixtures import ManifestMixtures
from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.tasks import common

WAVES = ("mixture", "speech", "singing", "music")


def mixture_sets(conf: Mapping[str, Any], with_text: bool
                 ) -> tuple[OnTheFlyMixtures, ManifestMixtures]:
    """Training stream from the train source lists, and the dev list (``data.sources``,
    ``data.dev_list``, ``data.music_cache``, ``data.audio_cache``:
    :class:`~jrsv.data.data_paths.DataPaths`).

    ``with_text``: whole mixtures (no crop) so the transcripts match the audio.
    """
    data = conf["data"]
    paths = DataPaths.from_config(data)
    crop = None if with_text else float(data.get("crop_seconds", 4.0))
    train = OnTheFlyMixtures(
        common.sources(data, "speech", "train"), common.sources(data, "singing", "train"),
        common.sources(data, "music", "train"), epoch_size=int(data.get("epoch_size", 2000)),
        crop_seconds=crop, seed=int(conf.get("seed", 0)),
        block=int(data.get("batch_size", 8)), cache_dir=str(paths.audio_cache),
        preload=bool(data.get("preload", True)), noise_floor_dbfs=data.get("noise_floor_dbfs"),
        noise_floor_prob=float(data.get("noise_floor_prob", 1.0)),
        speed_perturb=data.get("speed_perturb"))
    dev = paths.dev_list
    if not dev.is_file():
        raise FileNotFoundError(f"{dev}: DTSSVD dev list missing (run recipe stage 1)")
    valid = ManifestMixtures(str(dev), music_cache=str(paths.music_cache))
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
