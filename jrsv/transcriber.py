"""``jrsv.Transcriber``: decode mixed audio into speech and singing transcripts (see
:mod:`jrsv.decode.transcriber`)."""
from jrsv.decode.formats import Segment, Token, Transcript
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.transcriber import Transcriber

__all__ = ["Transcriber", "Transcript", "Segment", "Token", "DecodeConfig"]
