"""jrsv: jointly recognise speech and singing voices in one mixed audio track.

Layout:
    jrsv.nn          shared Conformer parts and audio front-ends
    jrsv.separation  MTASS separator (speech / singing heads) and its losses
    jrsv.asr         U2 CTC/attention ASR, tokenizers, decoding
    jrsv.data        corpus readers, datasets, collation
    jrsv.train       trainer, checkpoints, schedulers
    jrsv.decode      long-audio decoding, transcript formats
    jrsv.bin         command-line entry points
"""

__version__ = "0.1.0"
