"""MTASS separator: Conformer over the mixture magnitude, one output layer per track.

Paper (JRSV, sec. 2.1 / 4.1): STFT magnitude -> Conformer (16 blocks, d 256, 8 heads,
FFN 1024, kernel 33, relative positions) -> one linear output layer per track.

Output modes:
  * ``"mask"`` (default): ``S^_i = sigmoid(W_i h) * |Y|``. The estimate is bounded by the
    mixture magnitude (it can only remove energy, which is what separation is), the network
    starts from a sensible point (mask 0.5) and trains faster than unconstrained regression.
    Sigmoid, not softmax across heads: with softmax the masks sum to one, so the mixture
    consistency loss ``|Y| - sum_i S^_i`` would be identically zero (no training signal).
  * ``"mapping"``: ``S^_i = softplus(W_i h)``: direct magnitude regression, unbounded
    (can recover energy lost to phase cancellation in the mixture), usually slower to train.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from jrsv.constants import NUM_BINS
from jrsv.model_registry import check_keys
from jrsv.nn.cmvn import GlobalCMVN
from jrsv.nn.encoder import ConformerEncoder
from jrsv.nn.frontend import LogMagnitude
from jrsv.nn.mask import make_non_pad_mask

OUTPUTS = ("mask", "mapping")
INPUT_TRANSFORMS = ("log", "none")
VALID_HEADS = (("speech", "singing"), ("speech", "singing", "music"))


class MTASS(nn.Module):
    """Multi-task audio source separation network (magnitude domain).

    Args:
        input_dim: STFT bins F (513 for n_fft 1024).
        output_size, attention_heads, linear_units, num_blocks, cnn_module_kernel,
        dropout_rate: Conformer sizes (paper: 256, 8, 1024, 16, 33).
        output: ``"mask"`` (sigmoid mask x mixture, default) or ``"mapping"`` (softplus).
        heads: ``("speech", "singing")`` or with ``"music"`` (trained for the 3-head mixture
            consistency loss, discarded at inference).
        input_transform: ``"log"`` (log(|Y| + 1e-5), default) or ``"none"``.
        global_cmvn: optional :class:`GlobalCMVN` applied after the input transform.

    Config (:meth:`to_config` / :meth:`from_config`; the recipe's ``model:`` section for kind
    ``mtass`` uses the same keys): the arguments above, with ``cmvn`` (bool: global CMVN
    buffers of ``input_dim``, filled by a state dict or the data statistics; default true)
    in place of ``global_cmvn``.
    """

    kind = "mtass"
    CONFIG_KEYS = ("input_dim", "output_size", "attention_heads", "linear_units", "num_blocks",
                   "cnn_module_kernel", "dropout_rate", "output", "heads", "input_transform",
                   "cmvn")

    def __init__(self, input_dim: int = NUM_BINS, output_size: int = 256, attention_heads: int = 8,
                 linear_units: int = 1024, num_blocks: int = 16, cnn_module_kernel: int = 33,
                 dropout_rate: float = 0.1, output: str = "mask",
                 heads: tuple[str, ...] | list[str] = ("speech", "singing"),
                 input_transform: str = "log", global_cmvn: GlobalCMVN | None = None):
        super().__init__()
        heads = tuple(heads)
        if output not in OUTPUTS:
            raise ValueError(f"MTASS output must be one of {OUTPUTS}, got {output!r}")
        if heads not in VALID_HEADS:
            raise ValueError(f"MTASS heads must be one of {VALID_HEADS}, got {heads!r}")
        if input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f"MTASS input_transform must be one of {INPUT_TRANSFORMS}, "
                             f"got {input_transform!r}")
        self.input_dim, self.output, self.heads = input_dim, output, heads
        self.input_transform = input_transform
        if global_cmvn is not None and global_cmvn.mean.numel() != input_dim:
            raise ValueError(f"global CMVN has {global_cmvn.mean.numel()} dims, input_dim is "
                             f"{input_dim}")
        self._config: dict[str, Any] = dict(
            input_dim=input_dim, output_size=output_size, attention_heads=attention_heads,
            linear_units=linear_units, num_blocks=num_blocks, cnn_module_kernel=cnn_module_kernel,
            dropout_rate=dropout_rate, output=output, heads=list(heads),
            input_transform=input_transform, cmvn=global_cmvn is not None)
        self.log_mag = LogMagnitude()
        self.encoder = ConformerEncoder(
            input_dim, output_size, attention_heads, linear_units, num_blocks, dropout_rate,
            positional_dropout_rate=dropout_rate, input_layer="linear",
            pos_enc_layer_type="rel_pos", cnn_module_kernel=cnn_module_kernel,
            global_cmvn=global_cmvn)
        self.out = nn.ModuleDict({h: nn.Linear(output_size, input_dim) for h in heads})

    def to_config(self) -> dict[str, Any]:
        """``{kind: mtass, <CONFIG_KEYS>}``: what :meth:`from_config` rebuilds this model from."""
        return {"kind": self.kind, **self._config, "heads": list(self.heads)}

    @property
    def config(self) -> dict[str, Any]:
        """Same as :meth:`to_config`."""
        return self.to_config()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "MTASS":
        """Build from a config (:meth:`to_config`'s keys, all optional; ``kind`` optional).

        ``cmvn: true`` (the default) creates placeholder CMVN buffers (mean 0, istd 1) of size
        ``input_dim`` that a loaded state dict fills in. ``ValueError`` for an unknown key.
        """
        conf = check_keys(config, cls.kind, cls.CONFIG_KEYS)
        dim = int(conf.get("input_dim", NUM_BINS))
        if conf.pop("cmvn", True):
            conf["global_cmvn"] = GlobalCMVN(torch.zeros(dim), torch.ones(dim))
        return cls(**conf)

    def features(self, mix_mag: torch.Tensor) -> torch.Tensor:
        """mix_mag (B, T, F) -> network input (B, T, F) (CMVN is applied by the encoder)."""
        return self.log_mag(mix_mag) if self.input_transform == "log" else mix_mag

    def forward(self, mix_mag: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Separate.

        Args:
            mix_mag: (B, T, F) mixture magnitude, F == ``input_dim``.
            lengths: (B,) valid frames.
        Returns:
            ``{head: (B, T, F)}`` non-negative magnitudes, zero at padded frames.
        """
        if mix_mag.dim() != 3 or mix_mag.size(-1) != self.input_dim:
            raise ValueError(f"MTASS expects mix_mag (B, T, {self.input_dim}), "
                             f"got {tuple(mix_mag.shape)}")
        valid = make_non_pad_mask(lengths, mix_mag.size(1)).unsqueeze(-1).to(mix_mag.dtype)
        mix_mag = mix_mag * valid
        hidden, _ = self.encoder(self.features(mix_mag), lengths)
        outs = {}
        for name, layer in self.out.items():
            z = layer(hidden)
            est = torch.sigmoid(z) * mix_mag if self.output == "mask" else nn.functional.softplus(z)
            outs[name] = est * valid
        return outs


def mtass_num_params(input_dim: int = NUM_BINS, output_size: int = 256, attention_heads: int = 8,
                     linear_units: int = 1024, num_blocks: int = 16, cnn_module_kernel: int = 33,
                     num_heads: int = 2) -> int:
    """Trainable-parameter count of :class:`MTASS` from its layer sizes (BatchNorm conv norm).

    per block: 2 FFN (2 d f + f + d each), rel-pos MHA (4 (d^2 + d) + d^2 + 2 d),
    conv module (2 d^2 + 2 d + d k + d + 2 d + d^2 + d), 5 LayerNorms (2 d each);
    plus input Linear + LayerNorm (F d + d + 2 d), final LayerNorm (2 d), heads n (d F + F).
    """
    d, f, k, F = output_size, linear_units, cnn_module_kernel, input_dim
    ffn = 2 * (2 * d * f + f + d)
    mha = 4 * (d * d + d) + d * d + 2 * d
    conv = (2 * d * d + 2 * d) + (d * k + d) + 2 * d + (d * d + d)
    block = ffn + mha + conv + 5 * 2 * d
    return (F * d + d + 2 * d) + num_blocks * block + 2 * d + num_heads * (d * F + F)
