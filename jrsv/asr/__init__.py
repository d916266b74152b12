"""U2 CTC/attention ASR: model, decoder, CTC, searches, tokenizers, WeNet loader, CER."""
from jrsv.asr.search import DecodeResult

__all__ = ["DecodeResult"]
