"""``jrsv make-sample``: build the small sample mixture that ships with the package
(``jrsv/pretrained/sample/``) and that ``make demo`` decodes.

The sample is made from the *held-out test split* of the generated corpora the model was trained
on (``trained_on`` in its config.yaml: preset and seed): six DTSSVD mixtures (speech + singing +
music, overlap ratios 0, 0.1, 0.3, 0.5, 1, 0.5) back to back with 0.6 s pauses, about 50 s. The
recipe's corpora of that preset are used when a finished run is there (or ``--corpora DIR``);
otherwise only the test split's files are generated (about 25 s for ``base``). Re-run it after
retraining the model on other corpora:

    jrsv make-sample [--model jrsv/pretrained/default] [--corpora DIR] [--out jrsv/pretrained/sample]

Writes ``sample.flac`` (the mixture), ``speech.flac`` / ``singing.flac`` (the references for
SDRi) and ``references.json`` (transcripts with times, and the corpora it came from).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from jrsv.bin.logs import setup_logging
from jrsv.pretrained import SAMPLE_DIR, default_model_dir


def main(argv: list[str] | None = None) -> int:
    from dtssvd.corpora import default_corpora, ensure_corpora, finished_run, generate_test_split
    from jrsv.eval.sample_stream import build_stream, corpus_of, write_sample
    ap = argparse.ArgumentParser(prog="jrsv make-sample", description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_dir(),
                    help="model whose trained_on corpora the sample comes from")
    ap.add_argument("--preset", default=None,
                    help="override the model's trained_on preset (any preset of dtssvd.synth; "
                         "tiny: for tests)")
    ap.add_argument("--corpora", type=Path, default=None,
                    help="a generator run of that preset (default: the recipe's corpora of the "
                         "preset when a finished run is there, else generate the test split "
                         "only, into a temporary directory)")
    ap.add_argument("--out", type=Path, default=SAMPLE_DIR)
    a = ap.parse_args(argv)
    setup_logging("jrsv make-sample")
    if not (a.model / "config.yaml").is_file():
        print(f"jrsv make-sample: error: {a.model}: no model directory (config.yaml missing)",
              file=sys.stderr)
        return 1
    size, seed = corpus_of(a.model, a.preset)
    from dtssvd.synth.config import preset
    try:
        preset(size)
    except ValueError as e:  # a preset this generator does not know
        print(f"jrsv make-sample: error: {a.model}: {e}", file=sys.stderr)
        return 1
    recipe = default_corpora(size)
    if a.corpora is None and finished_run(recipe, size, seed):
        a.corpora = recipe
    with tempfile.TemporaryDirectory(prefix="jrsv-sample-") as tmp:
        if a.corpora is not None:
            logging.info("corpora: %s", a.corpora)
            ensure_corpora(a.corpora, size, seed)
            corpora = a.corpora
        else:
            corpora = generate_test_split(Path(tmp) / "corpora", size, seed)
        stream = build_stream(corpora, Path(tmp) / "stream", split="test", seed=seed)
    made_by = "jrsv make-sample" + (f" --preset {a.preset}" if a.preset else "")
    write_sample(stream, a.out, {"trained_on": {"corpus": "generated", "preset": size, "seed": seed},
                                 "split": "test", "made_by": made_by})
    dur = len(stream["mixture"]) / 16000
    print(f"jrsv make-sample: wrote {a.out} ({dur:.1f} s, {len(stream['segments'])} mixtures, "
          f"test split of preset {size}, seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
