"""Streaming audio input: any soundfile-readable file or raw s16le PCM -> 16 kHz mono float32 blocks.

Memory is bounded by the block size: files are read with ``SoundFile.read`` in blocks, mixed down
to mono and resampled with a streaming ``soxr.ResampleStream``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import soundfile as sf
import soxr

from jrsv.data.audio import AudioError  # one bad-audio error type for the whole library

from jrsv.constants import SAMPLE_RATE

log = logging.getLogger(__name__)
MAX_CHANNELS = 64  # more "channels" than this in an (n, C) array means it is (C, n)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au",
                    ".w64", ".rf64", ".caf")




class MonoResampler:
    """Mix (n, C) or (n,) blocks down to mono and resample to 16 kHz, streaming."""

    def __init__(self, in_rate: int, out_rate: int = SAMPLE_RATE):
        self.in_rate, self.out_rate = int(in_rate), int(out_rate)
        self._stream = (soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32",
                                            quality="HQ") if self.in_rate != self.out_rate else None)

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """block (n,) or (n, C) float -> (m,) float32 at ``out_rate``."""
        mono = block.mean(axis=1) if block.ndim == 2 else block
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        if self._stream is None:
            return mono
        return self._stream.resample_chunk(mono, last=last)


def _check_finite(block: np.ndarray, name: str, offset: int, rate: int) -> None:
    if not np.all(np.isfinite(block)):
        bad = int(np.argmax(~np.isfinite(block.reshape(block.shape[0], -1)).any(axis=1)))
        raise AudioError(f"{name}: NaN/Inf sample at {(offset + bad) / rate:.3f} s")


def file_info(path: str | os.PathLike) -> tuple[int, float]:
    """(sample_rate, duration_sec) of an audio file; raises :class:`AudioError`."""
    _check_exists(str(path))
    try:
        info = sf.info(str(path))
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError...)
        raise AudioError(f"{path}: cannot read audio ({_one_line(e)})") from None
    return info.samplerate, (info.frames / info.samplerate if info.samplerate else 0.0)


def _declared_frames(name: str, f: sf.SoundFile) -> int:
    """Frames the file's header announces: the RIFF ``data`` chunk size for WAV (libsndfile
    silently shortens ``frames`` to what is there), else ``f.frames``."""
    if f.format != "WAV" or f.subtype not in _WAV_BYTES:
        return int(f.frames)
    try:
        with open(name, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return int(f.frames)
    pos = 12
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if cid == b"data":
            return 0 if size == 0xFFFFFFFF else size // (_WAV_BYTES[f.subtype] * f.channels)
        pos += 8 + size + (size & 1)
    return int(f.frames)


def _ogg_has_end(name: str) -> bool:
    """Whether the last Ogg page of the file carries the end-of-stream flag."""
    try:
        with open(name, "rb") as fh:
            fh.seek(max(0, os.path.getsize(name) - (1 << 16)))
            tail = fh.read()
    except OSError:
        return True
    i = tail.rfind(b"OggS")
    return i < 0 or (i + 5 < len(tail) and bool(tail[i + 5] & 0x04))


_WAV_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def _check_exists(name: str) -> None:
    """libsndfile says only "System error." for these."""
    if not os.path.exists(name):
        raise AudioError(f"{name}: cannot read audio (no such file)")
    if os.path.isdir(name):
        raise AudioError(f"{name}: cannot read audio (a directory)")
    if not os.access(name, os.R_OK):
        raise AudioError(f"{name}: cannot read audio (permission denied)")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def iter_file_blocks(path: str | os.PathLike, block_sec: float = 2.0) -> Iterator[np.ndarray]:
    """Yield (n,) float32 16 kHz mono blocks of ``path``; raises :class:`AudioError` naming it.

    Empty files (no samples) and files with NaN/Inf samples are errors. A truncated or corrupt
    file whose start decodes keeps what was decoded, with a logged warning naming the file and
    the time where it ends (libsndfile errors mid-file, fewer samples than the header says).
    """
    name = str(path)
    _check_exists(name)
    try:
        f = sf.SoundFile(name)
    except Exception as e:
        raise AudioError(f"{name}: cannot read audio ({_one_line(e)})") from None
    with f:
        rate = f.samplerate
        resample = MonoResampler(rate)
        block = max(1, int(block_sec * rate))
        total = 0
        while True:
            try:
                data = f.read(block, dtype="float32", always_2d=True)
            except Exception as e:
                if total == 0:
                    raise AudioError(f"{name}: read error at {total / rate:.3f} s "
                                     f"({_one_line(e)})") from None
                log.warning("%s: truncated or corrupt after %.3f s (%s); decoded up to there",
                            name, total / rate, _one_line(e))
                break
            if len(data) == 0:
                declared = _declared_frames(name, f)
                if declared and declared - total > max(0.01 * declared, 0.05 * rate):
                    log.warning("%s: truncated: %.3f s decoded, the header says %.3f s",
                                name, total / rate, declared / rate)
                elif total and f.format == "OGG" and not _ogg_has_end(name):
                    log.warning("%s: truncated: %.3f s decoded, the stream has no end page",
                                name, total / rate)
                break
            _check_finite(data, name, total, rate)
            total += len(data)
            out = resample(data)
            if len(out):
                yield out
        if total == 0:
            declared = f.frames
            raise AudioError(f"{name}: empty audio (no samples)" if not declared else
                             f"{name}: no samples decoded although the header says "
                             f"{declared / rate:.3f} s (truncated or corrupt)")
        tail = resample(np.zeros((0, 1), np.float32), last=True)
        if len(tail):
            yield tail


def iter_pcm_blocks(stream: BinaryIO, sample_rate: int = SAMPLE_RATE, channels: int = 1,
                    block_sec: float = 0.5, name: str = "<stdin>") -> Iterator[np.ndarray]:
    """Raw s16le interleaved PCM from a binary stream -> (n,) float32 16 kHz mono blocks."""
    resample = MonoResampler(sample_rate)
    frame_bytes = 2 * channels
    want = max(1, int(block_sec * sample_rate)) * frame_bytes
    pending = b""
    total = 0
    while True:
        chunk = stream.read(want)
        if not chunk:
            break
        pending += chunk
        usable = len(pending) // frame_bytes * frame_bytes
        if usable == 0:
            continue
        data = np.frombuffer(pending[:usable], dtype="<i2").reshape(-1, channels)
        pending = pending[usable:]
        total += len(data)
        out = resample(data.astype(np.float32) / 32768.0)
        if len(out):
            yield out
    if total == 0:
        raise AudioError(f"{name}: empty audio (no samples)")
    tail = resample(np.zeros((0, 1), np.float32), last=True)
    if len(tail):
        yield tail


def iter_array_blocks(audio: np.ndarray, sample_rate: int, block_sec: float = 10.0,
                      name: str = "<array>") -> Iterator[np.ndarray]:
    """An in-memory array (n,) or (n, C) at ``sample_rate`` -> 16 kHz mono float32 blocks."""
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise AudioError(f"{name}: empty audio or bad shape {audio.shape} (want (n,) or (n, C))")
    if audio.ndim == 2 and (audio.shape[1] > MAX_CHANNELS or audio.shape[1] > audio.shape[0]):
        raise AudioError(f"{name}: shape {audio.shape} looks channel-first (C, n); "
                         f"pass (n, C), e.g. audio.T")
    if sample_rate is None or not sample_rate > 0:
        raise AudioError(f"{name}: sample_rate must be > 0, got {sample_rate}")
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float32) / float(np.iinfo(audio.dtype).max + 1)
    _check_finite(audio, name, 0, sample_rate)
    resample = MonoResampler(sample_rate)
    step = max(1, int(block_sec * sample_rate))
    for i in range(0, audio.shape[0], step):
        out = resample(audio[i:i + step].astype(np.float32))
        if len(out):
            yield out
    tail = resample(np.zeros((0, 1), np.float32), last=True)
    if len(tail):
        yield tail


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Expand CLI inputs: files, directories (recursive, audio extensions, sorted), ``@list.txt``
    (one path per line, ``#`` comments), and ``-`` (stdin) kept as is. Missing paths are kept
    so that decoding reports them as per-file errors."""
    out: list[str] = []
    for item in inputs:
        if item == "-":
            out.append(item)
        elif item.startswith("@"):
            list_path = Path(item[1:])
            try:
                lines = list_path.read_text().splitlines()
            except OSError as e:
                raise AudioError(f"{list_path}: cannot read list file ({_one_line(e)})") from None
            base = list_path.parent
            for line in lines:
                line = line.strip()
                if line and not line.startswith("#"):
                    p = Path(line)
                    out.extend(expand_inputs([str(p if p.is_absolute() else base / p)]))
        elif os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            out.extend(found)
        else:
            out.append(item)
    return out
