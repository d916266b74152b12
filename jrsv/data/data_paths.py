"""Where training finds its prepared files: each one is a key of the config's ``data`` section,
or, when the key is absent, a file of that name under ``data.dir``.

Keys (all paths; relative ones are taken from the working directory, as ``dir`` is):

=============  =========================================================  ==========================
key            what                                                       default
=============  =========================================================  ==========================
``dir``        the directory the defaults are under                       (needed if a key is absent)
``sources``    directory of the source lists                              ``DIR/sources``
               ``{speech,singing,music}_{train,dev,test}.jsonl``
``units``      character unit table (``units.txt`` format)                ``DIR/units.txt``
``cmvn_dir``   directory of ``cmvn_{fbank,logmag_clean,logmag_mix}.json`` ``DIR``
``dev_list``   the DTSSVD dev list (a ``dtssvd.build`` jsonl)             ``DIR/dtssvd/dev.jsonl``
``music_cache`` resampled MUSDB cache of that list                        ``DIR/dtssvd/cache/musdb``
``audio_cache`` npy cache of resampled 16 kHz sources (written on use)    ``DIR/cache/audio``
=============  =========================================================  ==========================

The defaults are the file names ``recipes/dtssvd`` stages 0-1 write; another recipe, or data
kept elsewhere, names the files instead (``jrsv train --override data.dev_list=...``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

DataConf = Union[str, Path, Mapping[str, Any]]

DEFAULTS = {"sources": "sources", "units": "units.txt", "cmvn_dir": ".",
            "dev_list": "dtssvd/dev.jsonl", "music_cache": "dtssvd/cache/musdb",
            "audio_cache": "cache/audio"}


@dataclass(frozen=True)
class DataPaths:
    """The resolved paths of one ``data`` config section (see the module docstring)."""

    sources: Path
    units: Path
    cmvn_dir: Path
    dev_list: Path
    music_cache: Path
    audio_cache: Path

    @classmethod
    def from_config(cls, data: DataConf) -> "DataPaths":
        """From the ``data`` mapping, or a bare directory (every file at its default).
        ``ValueError`` names the first key that is neither given nor derivable from ``dir``."""
        conf: Mapping[str, Any] = {"dir": data} if isinstance(data, (str, Path)) else data
        root = conf.get("dir")
        paths = {}
        for key, default in DEFAULTS.items():
            value = conf.get(key)
            if value is None:
                if root in (None, ""):
                    raise ValueError(f"data config: {key} is not set and there is no data.dir "
                                     f"to take it from ({default})")
                value = Path(root) / default
            paths[key] = Path(value)
        return cls(**paths)

    def source_list(self, kind: str, split: str) -> Path:
        """``SOURCES/{kind}_{split}.jsonl``; kind ``speech`` | ``singing`` | ``music``."""
        return self.sources / f"{kind}_{split}.jsonl"

    def cmvn(self, name: str) -> Path:
        """``CMVN_DIR/cmvn_{name}.json``; name ``fbank`` | ``logmag_clean`` | ``logmag_mix``."""
        return self.cmvn_dir / f"cmvn_{name}.json"
