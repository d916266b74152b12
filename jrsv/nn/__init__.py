"""Shared neural-network parts: the Conformer block and encoder, masks, front-ends."""
from jrsv.nn.conformer import ConformerBlock
from jrsv.nn.encoder import ConformerEncoder

__all__ = ["ConformerBlock", "ConformerEncoder"]
