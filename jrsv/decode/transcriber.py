"""Python API: ``Transcriber(model_dir).transcribe(path_or_array) -> Transcript``."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from jrsv.decode.audio_stream import SAMPLE_RATE, iter_array_blocks, iter_file_blocks
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.formats import Segment, Transcript
from jrsv.decode.pipeline import DecodeConfig, DecodeSession, model_min_confidence, run_sessions
from jrsv.model_io import read_config
from jrsv.pretrained import default_model_dir

log = logging.getLogger(__name__)


class Transcriber:
    """Speech and singing transcripts of mixed audio.

    Args:
        model_dir: a ``jrsv`` model directory (``model.pt``, ``config.yaml``, ``units.txt``);
            default: the bundled model (:func:`jrsv.pretrained.default_model_dir`).
        device: ``"cpu"``, ``"cuda"``, ...
        beam_size: 1 = CTC greedy search (fastest); > 1 = the ASR's beam search + rescoring.
        batch_size: separation windows / ASR pieces per model call.
        config: window, overlap, VAD and confidence settings (default: the defaults, with the
            model's calibrated confidence gate when its config.yaml has one).
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, device: str = "cpu", beam_size: int = 1,
                 batch_size: int = 1, config: DecodeConfig | None = None):
        if model_dir is None:
            model_dir = default_model_dir()
        self.engine = DecodeEngine.from_model_dir(model_dir, device=device, beam_size=beam_size)
        if config is None:
            config = DecodeConfig(min_confidence=model_min_confidence(read_config(model_dir)))
        self.batch_size, self.config = batch_size, config

    @classmethod
    def from_engine(cls, engine: DecodeEngine, config: DecodeConfig | None = None,
                    batch_size: int = 1) -> "Transcriber":
        self = cls.__new__(cls)
        self.engine, self.batch_size, self.config = engine, batch_size, config or DecodeConfig()
        return self

    def session(self, blocks: Iterator[np.ndarray], name: str, stems_dir=None) -> DecodeSession:
        return DecodeSession(name, blocks, self.engine, self.config, stems_dir, source=name)

    def transcribe(self, audio: str | os.PathLike | np.ndarray | torch.Tensor,
                   sample_rate: int | None = None, stems_dir: str | os.PathLike | None = None
                   ) -> Transcript:
        """A file path, or an array (n,) / (n, C) with its ``sample_rate`` -> :class:`Transcript`.

        Raises :class:`AudioError` for bad audio."""
        if isinstance(audio, (str, os.PathLike)):
            name, blocks = Path(audio).stem, iter_file_blocks(audio)
            source = str(audio)
        else:
            arr = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
            if sample_rate is None:
                raise ValueError("transcribe(array) needs sample_rate")
            name, source = "audio", "<array>"
            blocks = iter_array_blocks(arr, sample_rate, name=source)
        s = DecodeSession(name, blocks, self.engine, self.config, stems_dir, source=source)
        for kind, sess, _, _ in run_sessions([s], self.engine, self.batch_size):
            if kind == "done" and sess.error is not None:
                raise sess.error
        for note in s.gate_notes():
            log.warning("%s", note)
        return s.transcript

    def transcribe_stream(self, blocks: Iterable[np.ndarray], sample_rate: int = SAMPLE_RATE
                          ) -> Iterator[tuple[str, Segment]]:
        """PCM blocks ((n,) or (n, C) float in [-1, 1] at ``sample_rate``) -> ``(track, Segment)``
        as soon as each segment is final (live use: :class:`jrsv.decode.live.LiveDecoder`, with
        this transcriber's confidence gate and VAD; its partial results are not returned)."""
        from jrsv.decode.live import LiveConfig, LiveDecoder
        decoder = LiveDecoder(self.engine, LiveConfig(min_confidence=self.config.min_confidence,
                                                      vad=self.config.vad), sample_rate)

        def events():
            for b in blocks:
                yield from decoder.push(b)
            yield from decoder.finish()

        for e in events():
            if e.type == "final" and e.text:
                yield e.track, Segment(e.start, e.end, e.text, e.confidence)
