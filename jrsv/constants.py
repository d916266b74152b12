"""Constants shared by the whole library: sample rate, STFT geometry, the two output tracks.

Everything inside jrsv is 16 kHz mono. The separator's front-end (and JRSV's ASR input) is a
centred STFT with a 1024-sample Hann window and a 256-sample hop: 513 bins, 62.5 frames per
second (16 ms per frame); the ASR's conv2d front-end subsamples frames by 4 (64 ms).
A model directory records its front-end in ``config.yaml`` (``frontend``);
:meth:`StftFrontend.from_config` reads it back, so code that has a model at hand takes the
geometry from the model rather than from these defaults.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

SAMPLE_RATE = 16000
N_FFT = 1024
WIN_LENGTH = 1024
HOP_LENGTH = 256
NUM_BINS = N_FFT // 2 + 1                    # 513
FRAMES_PER_SEC = SAMPLE_RATE / HOP_LENGTH    # 62.5
FRAME_SEC = HOP_LENGTH / SAMPLE_RATE         # 0.016
SUBSAMPLING = 4                              # STFT frames per ASR encoder frame
NUM_MEL_BINS = 80                            # the fbank ASRs' (cascade, WeNet) feature dim
TRACKS = ("speech", "singing")               # the two transcribed tracks, in output order
STFT_TYPE = "stft_log_magnitude"


@dataclass(frozen=True)
class StftFrontend:
    """STFT geometry of a model's separator front-end (``config.yaml`` ``frontend``).

    Keys: ``type`` (``stft_log_magnitude``), ``sample_rate`` (Hz), ``n_fft``, ``hop_length``
    and ``win_length`` (samples; Hann window).
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop_length: int = HOP_LENGTH
    win_length: int = WIN_LENGTH

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def frames_per_sec(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def frame_sec(self) -> float:
        return self.hop_length / self.sample_rate

    def to_config(self) -> dict[str, Any]:
        """The ``frontend`` mapping written to config.yaml."""
        return {"type": STFT_TYPE, **asdict(self)}

    @classmethod
    def from_config(cls, conf: Mapping[str, Any] | None, source: str = "config.yaml"
                    ) -> "StftFrontend":
        """Read a ``frontend`` mapping (a cascade's ``{separation: ..., asr: ...}`` uses its
        ``separation`` part; None gives the defaults). ``ValueError`` naming ``source`` for a
        wrong type or a non-positive / inconsistent size."""
        if conf is None:
            return cls()
        if not isinstance(conf, Mapping):
            raise ValueError(f"{source}: frontend is not a mapping")
        if "separation" in conf:
            conf = conf["separation"]
            if not isinstance(conf, Mapping):
                raise ValueError(f"{source}: frontend.separation is not a mapping")
        if conf.get("type", STFT_TYPE) != STFT_TYPE:
            raise ValueError(f"{source}: frontend type {conf.get('type')!r} is not {STFT_TYPE!r}")
        values = {}
        for key, default in asdict(cls()).items():
            value = conf.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{source}: frontend.{key} must be a positive integer, "
                                 f"got {value!r}")
            values[key] = value
        if values["win_length"] > values["n_fft"] or values["hop_length"] > values["win_length"]:
            raise ValueError(f"{source}: frontend needs hop_length <= win_length <= n_fft, got "
                             f"{values['hop_length']}, {values['win_length']}, {values['n_fft']}")
        return cls(**values)


DEFAULT_STFT = StftFrontend()
FBANK_FRONTEND = {"type": "fbank", "sample_rate": SAMPLE_RATE, "num_mel_bins": NUM_MEL_BINS,
                  "frame_length_ms": 25.0, "frame_shift_ms": 10.0}
"""The ``frontend`` a model directory records for an ASR on Kaldi fbank features."""
