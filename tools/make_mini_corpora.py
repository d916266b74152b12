#!/usr/bin/env python3
"""Generate the synthetic mini corpora: ``python tools/make_mini_corpora.py OUT --preset mini``.

Thin wrapper around :mod:`dtssvd.synth.cli` (see ``dtssvd/synth/README.md``).
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from dtssvd.synth.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
