"""``jrsv`` console entry point: ``jrsv <command> [options]``.

Every user-facing program is a subcommand here, with ``jrsv COMMAND --help``; each module still
runs as ``python -m MODULE`` too. A command module provides either

* ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status): listed in :data:`COMMANDS`,
  its parser is a subparser of ``jrsv``; or
* ``main(argv=None) -> int``, a whole program with its own parser (the recipe's stages and the
  benchmarks): listed in :data:`PROGRAMS`, it gets the arguments after the command name.

To add a command, write ``jrsv/bin/<module>.py`` with either pair and add one line to the table.
Logging is configured once, here, before the command runs (:func:`jrsv.bin.logs.setup_logging`:
``jrsv COMMAND: ...`` lines on stderr, INFO and above; :data:`LOG_LEVELS` for the exceptions).
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys

from jrsv.bin.logs import setup_logging

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "decode": ("jrsv.bin.decode", "transcribe speech and singing in mixed audio files or stdin"),
    "export": ("jrsv.bin.export", "export the separator and ASR encoder+CTC (TorchScript)"),
    "curves": ("jrsv.bin.curves", "learning curves (loss, dev CER vs steps and hours) as a PNG"),
    "bench-padding": ("jrsv.bin.bench_padding", "ASR batch padding and throughput with/without length bucketing"),
    "bench-train": ("jrsv.bin.bench_train", "training-step throughput of a config under train.amp settings"),
    "serve": ("jrsv.bin.serve", "live captioning server: websocket, HTTP and a caption page"),
    "score": ("jrsv.bin.score", "CER of jrsv decode transcripts of a DTSSVD list (a Table 4 row)"),
}

# commands that are whole programs with their own ``main(argv)`` (the recipe's stages).
#
# Three of them live in the ``dtssvd`` package (the benchmark builder, the corpus generators and
# the sample made from generated corpora), which depends on jrsv, never the reverse. They are
# named here by module string only, so that every user-facing program is a ``jrsv`` subcommand
# while ``jrsv`` never imports ``dtssvd`` (tests/test_layering.py checks that): the module is
# loaded only when its command runs, and an installation without ``dtssvd`` answers that command
# with a one-line error (:data:`OPTIONAL_PACKAGES`).
PROGRAMS: dict[str, tuple[str, str]] = {
    "train": ("jrsv.bin.train", "train a model from a YAML config (torchrun for DDP)"),
    "average": ("jrsv.bin.average_model", "average checkpoints (best N by dev loss)"),
    "build-dtssvd": ("dtssvd.build", "build the DTSSVD dev/test lists from the corpora"),
    "make-corpora": ("dtssvd.synth.cli", "generate mini corpora in the real corpora's layouts"),
    "demo": ("jrsv.bin.demo", "decode the shipped sample mixture with the default model"),
    "bench-live": ("jrsv.bin.bench_live", "caption latency of live decoding at real-time pace"),
    "make-sample": ("dtssvd.make_sample", "build the shipped sample mixture from held-out data"),
    "calibrate": ("jrsv.bin.calibrate", "set a model's confidence gate from its held-out (dev) audio"),
    "robustness": ("jrsv.bin.robustness", "separator SDRi under 16-bit quantisation and a noise floor"),
    "bench-decode": ("jrsv.bin.bench_decode", "decode real-time factor on this CPU (torch vs ONNX)"),
    "bench-model": ("jrsv.bin.bench_model", "model size, speed and memory of the separator and ASR"),
    "bench-data": ("dtssvd.bench_data", "throughput of the on-the-fly training data pipeline"),
}

# packages a command may need that jrsv does not depend on -> what provides them
OPTIONAL_PACKAGES = {"dtssvd": "the DTSSVD benchmark package of the jrsv source tree"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (a broken or slow command module
    does not affect the others)."""
    parser = argparse.ArgumentParser(
        prog="jrsv", description="Jointly recognise speech and singing voices in mixed audio.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        if name != command:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    for name, (_, help_text) in PROGRAMS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


# commands whose stderr carries only warnings and errors by default (decode writes transcripts and
# live captions; its progress has its own line)
LOG_LEVELS: dict[str, int] = {"decode": logging.WARNING}

# Live commands are mostly idle, waiting for audio: their OpenMP threads should sleep rather than
# spin between operators (measured with 2 threads, BENCHMARKS.md "Live captions": median/p95
# latency 1.15/3.58 s spinning, 1.01/1.26 s passive). Read when torch loads, so set first.
LIVE_COMMANDS = ("serve", "bench-live")


def _live_threads(command: str | None, argv: list[str]) -> None:
    if command in LIVE_COMMANDS or (command == "decode" and "-" in argv):
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    _live_threads(command, argv)
    if command in COMMANDS or command in PROGRAMS:
        setup_logging(f"jrsv {command}", LOG_LEVELS.get(command, logging.INFO))
    if command in PROGRAMS and argv and argv[0] == command:
        try:
            mod = importlib.import_module(PROGRAMS[command][0])
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            if top not in OPTIONAL_PACKAGES:
                raise
            print(f"jrsv {command}: error: needs the {top} package ({OPTIONAL_PACKAGES[top]}), "
                  f"which is not installed", file=sys.stderr)
            return 2
        sys.argv[0] = f"jrsv {command}"  # argparse's default prog
        if inspect.signature(mod.main).parameters:
            return int(mod.main(argv[1:]) or 0)
        sys.argv[1:] = argv[1:]  # a main() that parses sys.argv itself
        return int(mod.main() or 0)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    return int(args._run(args))


if __name__ == "__main__":
    sys.exit(main())
