"""Transcribe speech and singing in mixed audio.

  jrsv decode INPUT... [--model DIR] [--format json|txt|srt|vtt] [--output-dir DIR]
              [--write-stems DIR] [--device cpu|cuda] [--batch-size N] [--beam-size N]
              [--window-sec 10 --overlap-sec 2]

INPUT: audio files (wav, flac, ogg, mp3; any rate / channels), directories (searched
recursively), @list.txt (one path per line), or - for raw s16le PCM on stdin (--stdin-rate,
--stdin-channels): live captions, printed as they are due (see jrsv/bin/decode_live.py):
caption lines per track ("[speech] 00:00:01.000 --> 00:00:03.000 text", the current partial
caption on a terminal), or JSON lines of partial/final events with --format json.
Outputs: NAME.json / NAME.txt (both tracks) or NAME.speech.srt + NAME.singing.srt (.vtt).
Exit status: the number of inputs that failed (at most 125); 0 when all decoded.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from jrsv.decode.audio_stream import (AudioError, expand_inputs, file_info, iter_file_blocks,
                                      iter_pcm_blocks)
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.formats import FORMATS, segment_line, write_transcript, _segment_dict
from jrsv.decode.pipeline import (DEFAULT_MIN_CONFIDENCE, DecodeConfig, DecodeSession,
                                  model_min_confidence, run_sessions)
from jrsv.decode.vad import VadConfig
from jrsv.model_io import ModelDirError, read_config
from jrsv.pretrained import default_model_dir

MAX_STATUS = 125


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
    p.add_argument("--window-sec", type=float, default=10.0, help="separation window")
    p.add_argument("--overlap-sec", type=float, default=2.0, help="separation window overlap")
    p.add_argument("--max-segment-sec", type=float, default=20.0, help="longest ASR piece")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="drop segments whose mean CTC peak posterior is lower (default: the "
                        "model's calibrated gate, decode.min_confidence in its config.yaml, "
                        "else 0.5)")
    p.add_argument("--stdin-rate", type=int, default=16000, help="sample rate of PCM on stdin")
    p.add_argument("--stdin-channels", type=int, default=1, help="channels of PCM on stdin")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _min_confidence(args: argparse.Namespace) -> float:
    if args.min_confidence is not None:
        return args.min_confidence
    try:
        return model_min_confidence(read_config(args.model))
    except ModelDirError:
        return DEFAULT_MIN_CONFIDENCE  # the model loader reports the bad directory


def _config(args: argparse.Namespace) -> DecodeConfig:
    max_frames = round(args.max_segment_sec * 62.5)
    return DecodeConfig(window_sec=args.window_sec, overlap_sec=args.overlap_sec,
                        min_confidence=_min_confidence(args),
                        vad=VadConfig(max_frames=max_frames,
                                      overlap_frames=min(125, max_frames // 4)))


def _unique_names(paths: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for p in paths:
        base = "stdin" if p == "-" else Path(p).name.rsplit(".", 1)[0] or "audio"
        n = seen.get(base, 0)
        seen[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def run(args: argparse.Namespace) -> int:
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        config = _config(args)
        config.window_frames()
        inputs = expand_inputs(args.inputs)
    except (ValueError, AudioError) as e:
        print(f"jrsv decode: error: {e}", file=sys.stderr)
        return 2
    if not inputs:
        print("jrsv decode: error: no audio files found in the inputs", file=sys.stderr)
        return 2
    if inputs.count("-") > 1:
        print("jrsv decode: error: '-' (stdin) given more than once", file=sys.stderr)
        return 2
    try:
        engine = DecodeEngine.from_model_dir(args.model, device=args.device,
                                             beam_size=args.beam_size)
    except Exception as e:  # noqa: BLE001 - ModelDirError and device errors: one line
        print(f"jrsv decode: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    if inputs == ["-"]:
        from jrsv.bin.decode_live import run_stdin
        return run_stdin(args, engine, config.min_confidence, config.vad)
    args.format = args.format or "json"
    names = _unique_names(inputs)
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

    failed, done = 0, 0
    out = sys.stdout
    audio_read: list[float] = []
    t_start = time.perf_counter()

    def on_audio(sec: float) -> None:
        audio_read.append(sec)
        if bar is not None:
            bar.update(sec)

    for kind, s, track, seg in run_sessions(sessions(), engine, args.batch_size,
                                            on_audio=on_audio):
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
        if s.source != "-" or args.output_dir != ".":
            try:
                write_transcript(s.transcript, args.output_dir, s.name, args.format)
            except OSError as e:
                failed += 1
                _write_err(bar, f"jrsv decode: error: {s.source}: cannot write output ({e})")
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


def _progress(total_sec: float, disable: bool):
    if disable or total_sec <= 0:
        return None
    from tqdm import tqdm
    return tqdm(total=round(total_sec, 1), unit="s", unit_scale=False, desc="decode",
                file=sys.stderr, disable=None, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s "
                                                         "[{elapsed}<{remaining}]")


def _write_err(bar, msg: str) -> None:
    if bar is not None:
        bar.write(msg, file=sys.stderr)
    else:
        print(msg, file=sys.stderr)
