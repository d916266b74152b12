"""Transcribe speech and singing in mixed audio.

  jrsv decode INPUT... [--model DIR] [--format json|txt|srt|vtt] [--output-dir DIR]
              [--write-stems DIR] [--device cpu|cuda] [--batch-size N] [--beam-size N]
              [--backend torch|onnx|onnx-int8] [--threads N]
              [--window-sec 10 --overlap-sec 2] [--whole-input]

INPUT: audio files (wav, flac, ogg, mp3; any rate / channels), directories (searched
recursively), @list.txt (one path per line), or - for raw s16le PCM on stdin (--stdin-rate,
--stdin-channels): live captions, printed as they are due (see jrsv/bin/decode_live.py):
caption lines per track ("[speech] 00:00:01.000 --> 00:00:03.000 text", the current partial
caption on a terminal), or JSON lines of partial/final events with --format json.
Outputs: NAME.json / NAME.txt (both tracks) or NAME.speech.srt + NAME.singing.srt (.vtt);
NAME is the file name without its extension; inputs that share one get their path relative to
their common directory (a.wav + a.flac -> a.wav.json + a.flac.json; d1/a.wav + d2/a.wav ->
d1/a.json + d2/a.json); the same file twice is an error. Every output file (and each srt/vtt
pair, and the stems) appears complete or not at all; two runs cannot write into the same
--output-dir at once.
--whole-input decodes each file as the recipe scores its test set (stage 5, Table 4:
``JRSV.transcribe``): one separation window and one ASR piece per track over the whole file, no
VAD and no confidence gate, so each track gets one segment (or none). With the recipe's search
(--beam-size 10: CTC prefix beam search + attention rescoring) the tokens are the recipe's
(tests/test_eval_decode_parity.py); use it on mixtures of seconds, not hour-long recordings (the
separator attends over the whole file at once).
Exit status: the number of inputs that failed (at most 125); 0 when all decoded; 2 for bad
options; 130 when interrupted (Ctrl-C), 128+N on signal N.
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from jrsv.atomic import (install_signal_handlers, quiet_broken_pipe, restore_signal_handlers,
                         temp_name)
from jrsv.bin.logs import setup_logging
from jrsv.constants import FRAMES_PER_SEC
from jrsv.decode.audio_stream import (AudioError, expand_inputs, file_info, iter_file_blocks,
                                      iter_pcm_blocks)
from jrsv.decode.onnx_engine import BACKENDS, build_engine
from jrsv.decode.formats import FORMATS, segment_line, write_transcript, _segment_dict
from jrsv.decode.pipeline import (DEFAULT_MIN_CONFIDENCE, DecodeConfig, DecodeSession,
                                  model_min_confidence, run_sessions, whole_input_config)
from jrsv.decode.vad import VadConfig
from jrsv.model_io import ModelDirError, read_config
from jrsv.progress import Progress
from jrsv.pretrained import default_model_dir

MAX_STATUS = 125
WINDOW_SEC, OVERLAP_SEC, MAX_SEGMENT_SEC = 10.0, 2.0, 20.0  # decode defaults (DecodeConfig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory, @list.txt or -")
    p.add_argument("--model", default=str(default_model_dir()),
                   help="model directory (model.pt, config.yaml, units.txt; default: the bundled "
                        "model, jrsv/pretrained/default)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="files: json (default); stdin: caption lines (default) or json events")
    p.add_argument("--output-dir", default=".", help="where transcripts go (default: .)")
    p.add_argument("--write-stems", metavar="DIR", help="also write separated 16 kHz wavs here")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--batch-size", type=int, default=1,
                   help="separation windows / ASR pieces per model call, across files")
    p.add_argument("--beam-size", type=int, default=1,
                   help="1: CTC greedy search; >1: CTC prefix beam search + attention rescoring")
    p.add_argument("--window-sec", type=float, default=None,
                   help=f"separation window (default {WINDOW_SEC:g})")
    p.add_argument("--overlap-sec", type=float, default=None,
                   help=f"separation window overlap (default {OVERLAP_SEC:g})")
    p.add_argument("--max-segment-sec", type=float, default=None,
                   help=f"longest ASR piece (default {MAX_SEGMENT_SEC:g})")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="drop segments whose mean CTC peak posterior is lower (default: the "
                        "model's calibrated gate, decode.min_confidence in its config.yaml, "
                        "else 0.5)")
    p.add_argument("--whole-input", action="store_true",
                   help="decode each file in one window, one ASR piece per track, no VAD, no "
                        "confidence gate: the recipe's scoring (Table 4 of the model card, with "
                        "--beam-size 10); not with - (stdin) or the four options above")
    p.add_argument("--stdin-rate", type=int, default=16000, help="sample rate of PCM on stdin")
    p.add_argument("--stdin-channels", type=int, default=1, help="channels of PCM on stdin")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of torch / ONNX Runtime (0: the library's default)")
    p.add_argument("--backend", choices=BACKENDS, default="torch",
                   help="torch; onnx: ONNX Runtime fp32 (pip install 'jrsv[onnx]'; the model is "
                        "exported once into $JRSV_ONNX_CACHE, default ~/.cache/jrsv/onnx); "
                        "onnx-int8: dynamically quantised")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _min_confidence(args: argparse.Namespace) -> float:
    if args.min_confidence is not None:
        return args.min_confidence
    try:
        return model_min_confidence(read_config(args.model))
    except ModelDirError:
        return DEFAULT_MIN_CONFIDENCE  # the model loader reports the bad directory


def _config(args: argparse.Namespace) -> DecodeConfig:
    if args.whole_input:
        return whole_input_config()
    max_frames = round(_or(args.max_segment_sec, MAX_SEGMENT_SEC) * FRAMES_PER_SEC)
    return DecodeConfig(window_sec=_or(args.window_sec, WINDOW_SEC),
                        overlap_sec=_or(args.overlap_sec, OVERLAP_SEC),
                        min_confidence=_min_confidence(args),
                        vad=VadConfig(max_frames=max_frames,
                                      overlap_frames=min(125, max_frames // 4)))


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _validate(args: argparse.Namespace) -> str | None:
    """The first bad numeric option as a one-line message, or None."""
    def finite(x: float) -> bool:
        return math.isfinite(x)

    windowing = {"--window-sec": args.window_sec, "--overlap-sec": args.overlap_sec,
                 "--max-segment-sec": args.max_segment_sec, "--min-confidence": args.min_confidence}
    given = [name for name, v in windowing.items() if v is not None]
    window_sec = _or(args.window_sec, WINDOW_SEC)
    overlap_sec = _or(args.overlap_sec, OVERLAP_SEC)
    max_segment_sec = _or(args.max_segment_sec, MAX_SEGMENT_SEC)
    checks = [
        (not (args.whole_input and given),
         f"--whole-input decodes each file in one window with no gate; it does not take "
         f"{', '.join(given)}"),
        (not (args.whole_input and "-" in args.inputs),
         "--whole-input decodes files, not live audio on stdin ('-')"),
        (args.batch_size >= 1, f"--batch-size must be >= 1, got {args.batch_size}"),
        (args.beam_size >= 1, f"--beam-size must be >= 1, got {args.beam_size}"),
        (finite(window_sec) and window_sec > 0, f"--window-sec must be > 0, got {window_sec}"),
        (finite(overlap_sec) and overlap_sec >= 0,
         f"--overlap-sec must be >= 0, got {overlap_sec}"),
        (finite(max_segment_sec) and max_segment_sec >= 1.0,
         f"--max-segment-sec must be >= 1, got {max_segment_sec}"),
        (args.min_confidence is None or 0.0 <= args.min_confidence <= 1.0,
         f"--min-confidence must be in [0, 1], got {args.min_confidence}"),
        (args.stdin_rate >= 1000, f"--stdin-rate must be >= 1000 Hz, got {args.stdin_rate}"),
        (1 <= args.stdin_channels <= 64, f"--stdin-channels must be 1..64, got {args.stdin_channels}"),
        (args.threads >= 0, f"--threads must be >= 0, got {args.threads}"),
    ]
    return next((msg for ok, msg in checks if not ok), None)


def output_names(paths: list[str]) -> list[str]:
    """Collision-free output names (without extension) for the inputs, in order.

    The file name without its extension; inputs sharing one get their path relative to their
    common directory, without and then with the extension. Raises ``ValueError`` when a file is
    given twice or two names still collide (compared case-insensitively)."""
    seen: dict[str, str] = {}
    for p in paths:
        key = "-" if p == "-" else os.path.realpath(p)
        if key in seen:
            raise ValueError(f"{p}: given more than once" if p == seen[key] else
                             f"{seen[key]} and {p} are the same file")
        seen[key] = p
    names = ["stdin" if p == "-" else Path(p).name.rsplit(".", 1)[0] or "audio" for p in paths]
    for with_ext in (False, True):
        counts: dict[str, int] = {}
        for n in names:
            counts[n.casefold()] = counts.get(n.casefold(), 0) + 1
        clash = [i for i, n in enumerate(names) if counts[n.casefold()] > 1 and paths[i] != "-"]
        if not clash:
            break
        root = os.path.commonpath([os.path.dirname(os.path.abspath(paths[i])) for i in clash])
        for i in clash:
            rel = os.path.relpath(os.path.abspath(paths[i]), root)
            names[i] = rel if with_ext else (rel.rsplit(".", 1)[0] if "." in Path(rel).name else rel)
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        j = first.setdefault(n.casefold(), i)
        if j != i:
            raise ValueError(f"{paths[j]} and {paths[i]} would both be written as {n!r}; "
                             "rename one or decode them in separate runs")
    return names


class OutputDirBusy(Exception):
    pass


def _claim_dir(path: str, held: list[int]) -> None:
    """Create ``path``, check that it is writable, and lock it (``flock`` on the directory)
    against another ``jrsv decode`` writing there; the lock ends with the process."""
    os.makedirs(path, exist_ok=True)
    probe = temp_name(Path(path) / ".jrsv-write-test")
    with open(probe, "wb"):
        pass
    os.remove(probe)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise OutputDirBusy(f"{path}: another jrsv decode is writing there; "
                                "use another directory or wait") from None
        return  # no locking on this file system
    held.append(fd)


def run(args: argparse.Namespace) -> int:
    previous = install_signal_handlers()
    held: list[int] = []
    try:
        return _run(args, held)
    except KeyboardInterrupt:
        _stderr("jrsv decode: interrupted; partial outputs removed")
        return 130
    except SystemExit as e:  # SIGTERM / SIGHUP
        _stderr("jrsv decode: stopped by a signal; partial outputs removed")
        return int(e.code) if isinstance(e.code, int) else 1
    except BrokenPipeError:  # stdout closed by the reader (| head)
        quiet_broken_pipe()
        return 141
    finally:
        for fd in held:
            os.close(fd)
        restore_signal_handlers(previous)


def _stderr(msg: str) -> None:
    try:
        print(msg, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _run(args: argparse.Namespace, held: list[int]) -> int:
    setup_logging("jrsv decode", logging.WARNING)  # library warnings (a truncated input): one line
    bad = _validate(args)
    if bad:
        print(f"jrsv decode: error: {bad}", file=sys.stderr)
        return 2
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        config = _config(args)
        config.window_frames()
        inputs = expand_inputs(args.inputs)
        if not inputs:
            raise ValueError("no audio files found in the inputs")
        if inputs.count("-") > 1:
            raise ValueError("'-' (stdin) given more than once")
        if "-" in inputs and (sys.stdin is None or sys.stdin.closed):
            raise ValueError("'-' given but stdin is closed")
        names = output_names(inputs)
        if any(p != "-" for p in inputs) or args.output_dir != ".":
            _claim_dir(args.output_dir, held)
        if args.write_stems and os.path.realpath(args.write_stems) != os.path.realpath(args.output_dir):
            _claim_dir(args.write_stems, held)
    except (ValueError, AudioError, OutputDirBusy) as e:
        print(f"jrsv decode: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"jrsv decode: error: {e.filename or args.output_dir}: cannot write there "
              f"({e.strerror or e})", file=sys.stderr)
        return 2
    try:
        engine = build_engine(args.backend, args.model, device=args.device,
                              beam_size=args.beam_size, threads=args.threads)
    except Exception as e:  # noqa: BLE001 - ModelDirError and device errors: one line
        print(f"jrsv decode: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    if inputs == ["-"]:
        from jrsv.bin.decode_live import run_stdin
        return run_stdin(args, engine, config.min_confidence, config.vad)
    args.format = args.format or "json"
    total_sec = 0.0
    for p in inputs:
        if p != "-":
            try:
                total_sec += file_info(p)[1]
            except AudioError:
                pass
    bar = _progress(total_sec, args.quiet)

    def sessions():
        for path, name in zip(inputs, names):
            if path == "-":
                blocks = iter_pcm_blocks(sys.stdin.buffer, args.stdin_rate, args.stdin_channels,
                                         block_sec=0.25, name="<stdin>")
            else:
                blocks = iter_file_blocks(path)
            yield DecodeSession(name, blocks, engine, config, args.write_stems, source=path)

    out = sys.stdout
    audio_read: list[float] = []
    t_start = time.perf_counter()

    def on_audio(sec: float) -> None:
        audio_read.append(sec)
        if bar is not None:
            bar.update(sec)

    events = run_sessions(sessions(), engine, args.batch_size, on_audio=on_audio)
    try:
        failed, done = _consume(events, args, bar, out)
    finally:
        events.close()  # on an interrupt: the active inputs' partial stems are removed
        if bar:
            bar.close()
    audio_sec = sum(audio_read)
    if not args.quiet and audio_sec > 0:
        wall = time.perf_counter() - t_start
        parts = ", ".join(f"{k} {v / audio_sec:.3f}" for k, v in sorted(engine.timings.items()))
        print(f"jrsv decode: {audio_sec:.1f} s of audio in {wall:.1f} s (RTF {wall / audio_sec:.3f}; "
              f"{parts})", file=sys.stderr)
    print(f"jrsv decode: {done - failed} of {done} input(s) decoded, {failed} failed",
          file=sys.stderr)
    return min(failed, MAX_STATUS)


def _consume(events, args: argparse.Namespace, bar, out) -> tuple[int, int]:
    """Print live segments, write transcripts, report errors; returns (failed, done)."""
    failed, done = 0, 0
    for kind, s, track, seg in events:
        if kind == "segment":
            if s.source == "-":
                line = (json.dumps({"track": track, **_segment_dict(seg)}, ensure_ascii=False)
                        if args.format == "json" else segment_line(track, seg))
                print(line, file=out, flush=True)
            continue
        done += 1
        if s.error is not None:
            failed += 1
            msg = " ".join(str(s.error).split())
            _write_err(bar, f"jrsv decode: error: {msg if s.name in msg or s.source in msg else s.source + ': ' + msg}")
            continue
        for note in s.gate_notes("--min-confidence 0"):
            _write_err(bar, f"jrsv decode: note: {note}")
        if s.source != "-" or args.output_dir != ".":
            try:
                write_transcript(s.transcript, args.output_dir, s.name, args.format)
            except OSError as e:
                failed += 1
                _write_err(bar, f"jrsv decode: error: {s.source}: cannot write output "
                                f"({e.strerror or e})")
    return failed, done


def _progress(total_sec: float, disable: bool) -> Progress | None:
    """A bar on a terminal, a plain line every 30 s otherwise (``jrsv.progress``)."""
    if disable or total_sec <= 0:
        return None
    return Progress(total=round(total_sec, 1), unit="s", desc="jrsv decode")


def _write_err(bar, msg: str) -> None:
    if bar is not None:
        bar.write(msg)
    else:
        print(msg, file=sys.stderr)
