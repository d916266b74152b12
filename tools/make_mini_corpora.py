#!/usr/bin/env python3
"""Generate the synthetic mini corpora: ``python tools/make_mini_corpora.py OUT --preset mini``.

The same program as ``jrsv make-corpora`` (:mod:`dtssvd.synth.cli`, see ``dtssvd/synth/README.md``);
kept because the generator's README names this path. Needs the package installed (``make venv``).
"""
import sys
import warnings

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from dtssvd.synth.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
