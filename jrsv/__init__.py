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


def __getattr__(name: str):
    """Lazy top-level API: ``jrsv.Transcriber``, ``jrsv.Transcript``, ``jrsv.Segment``."""
    if name in ("Transcriber", "Transcript", "Segment"):
        from jrsv import transcriber
        return getattr(transcriber, name)
    raise AttributeError(f"module 'jrsv' has no attribute {name!r}")
