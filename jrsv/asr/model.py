"""U2 (CTC + attention) ASR model with WeNet parameter names (``encoder``, ``decoder``, ``ctc``)."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from jrsv.asr.ctc import CTC
from jrsv.asr.decoder import TransformerDecoder
from jrsv.asr.label_smoothing import LabelSmoothingLoss
from jrsv.asr.search import (DecodeResult, attention_rescoring, ctc_greedy_search,
                             ctc_prefix_beam_search)
from jrsv.constants import NUM_BINS, NUM_MEL_BINS
from jrsv.model_registry import check_keys
from jrsv.nn.cmvn import GlobalCMVN
from jrsv.nn.encoder import ConformerEncoder

IGNORE_ID = -1
FEATURES = ("fbank", "log_mag", "mag")
DECODE_MODES = ("ctc_greedy_search", "ctc_prefix_beam_search", "attention", "attention_rescoring")


def add_sos_eos(ys: torch.Tensor, ys_lens: torch.Tensor, sos: int, eos: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """ys (B, L) padded with -1 -> (ys_in (B, L+1) = sos+y padded with eos,
    ys_out (B, L+1) = y+eos padded with -1)."""
    b, length = ys.shape
    ys_in = torch.full((b, length + 1), eos, dtype=torch.long, device=ys.device)
    ys_out = torch.full((b, length + 1), IGNORE_ID, dtype=torch.long, device=ys.device)
    ys_in[:, 0] = sos
    for i, n in enumerate(ys_lens.tolist()):
        ys_in[i, 1:n + 1] = ys[i, :n]
        ys_out[i, :n] = ys[i, :n]
        ys_out[i, n] = eos
    return ys_in, ys_out


class U2ASR(nn.Module):
    """Conformer encoder (conv2d x4) + Transformer decoder + CTC, joint loss.

    Args:
        vocab_size: V (``<blank>`` = 0).
        input_dim: feature dim F (80 fbank or 513 magnitude).
        encoder_conf: :class:`ConformerEncoder` keyword arguments (WeNet ``encoder_conf``).
        decoder_conf: :class:`TransformerDecoder` keyword arguments (WeNet ``decoder_conf``).
        ctc_weight: alpha in ``alpha * ctc + (1 - alpha) * att``.
        lsm_weight: label smoothing of the attention loss.
        global_cmvn: optional input normalisation (``encoder.global_cmvn``).
        sos_id, eos_id: ids of the decoder's start / end symbols (default V - 1, the jrsv and
            classic WeNet ``<sos/eos>``; WeNet recipes since 2024 put ``<sos/eos>`` at 2). Used by
            training, attention beam search and attention rescoring.
        feature: what the input features are: ``"fbank"`` (Kaldi fbank, ``input_dim`` mel
            bins), ``"log_mag"`` (log STFT magnitude, JRSV's) or ``"mag"``. Default: ``fbank``
            when ``input_dim`` is 80, else ``log_mag``. Recorded in the config; the model
            itself takes features.

    Config (:meth:`to_config` / :meth:`from_config`; the recipe's ``model:`` section for kind
    ``asr`` uses the same keys): ``vocab_size``, ``feature``, ``input_dim`` (default 80 for
    fbank, 513 for log_mag / mag), ``cmvn`` (bool: global CMVN buffers, default true),
    ``ctc_weight``, ``lsm_weight``, ``length_normalized_loss``, ``sos_id``, ``eos_id``,
    ``encoder_conf``, ``decoder_conf``.
    """

    kind = "asr"
    CONFIG_KEYS = ("vocab_size", "feature", "input_dim", "cmvn", "ctc_weight", "lsm_weight",
                   "length_normalized_loss", "sos_id", "eos_id", "encoder_conf", "decoder_conf")

    def __init__(self, vocab_size: int, input_dim: int, encoder_conf: dict[str, Any],
                 decoder_conf: dict[str, Any], ctc_weight: float = 0.3, lsm_weight: float = 0.1,
                 global_cmvn: GlobalCMVN | None = None, length_normalized_loss: bool = False,
                 sos_id: int | None = None, eos_id: int | None = None,
                 feature: str | None = None):
        super().__init__()
        if not 0.0 <= ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must be in [0, 1], got {ctc_weight}")
        if vocab_size < 3:
            raise ValueError(f"vocab_size {vocab_size} too small (<blank>, a unit, <sos/eos>)")
        sos = vocab_size - 1 if sos_id is None else int(sos_id)
        eos = vocab_size - 1 if eos_id is None else int(eos_id)
        if not (0 < sos < vocab_size and 0 < eos < vocab_size):
            raise ValueError(f"sos_id {sos} / eos_id {eos} must be in 1..{vocab_size - 1}")
        feature = feature or ("fbank" if input_dim == NUM_MEL_BINS else "log_mag")
        if feature not in FEATURES:
            raise ValueError(f"ASR feature must be one of {FEATURES}, got {feature!r}")
        if global_cmvn is not None and global_cmvn.mean.numel() != input_dim:
            raise ValueError(f"global CMVN has {global_cmvn.mean.numel()} dims, input_dim is "
                             f"{input_dim}")
        encoder_conf = dict(encoder_conf)
        encoder_conf.setdefault("input_layer", "conv2d")
        self._config = dict(vocab_size=vocab_size, feature=feature, input_dim=input_dim,
                            cmvn=global_cmvn is not None, ctc_weight=ctc_weight,
                            lsm_weight=lsm_weight, length_normalized_loss=length_normalized_loss,
                            sos_id=sos, eos_id=eos, encoder_conf=dict(encoder_conf),
                            decoder_conf=dict(decoder_conf))
        self.feature = feature
        self.vocab_size = vocab_size
        self.sos, self.eos = sos, eos
        self.ignore_id = IGNORE_ID
        self.ctc_weight = ctc_weight
        self.encoder = ConformerEncoder(input_dim, global_cmvn=global_cmvn, **encoder_conf)
        d = self.encoder.output_size()
        self.decoder = TransformerDecoder(vocab_size, d, **decoder_conf)
        self.ctc = CTC(vocab_size, d)
        self.criterion_att = LabelSmoothingLoss(vocab_size, IGNORE_ID, lsm_weight,
                                                length_normalized_loss)

    def to_config(self) -> dict[str, Any]:
        """``{kind: asr, <CONFIG_KEYS>}``: what :meth:`from_config` rebuilds this model from."""
        conf = {"kind": self.kind, **self._config}
        conf["encoder_conf"], conf["decoder_conf"] = (dict(conf["encoder_conf"]),
                                                      dict(conf["decoder_conf"]))
        return conf

    @property
    def config(self) -> dict[str, Any]:
        """Same as :meth:`to_config`."""
        return self.to_config()

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> "U2ASR":
        """Build from a config (:meth:`to_config`'s keys; ``kind`` optional). ``cmvn: true``
        gives placeholder CMVN buffers (mean 0, istd 1) that a state dict fills in.
        ``ValueError`` for an unknown key, a missing ``vocab_size`` / ``encoder_conf`` /
        ``decoder_conf`` or a bad value."""
        conf = check_keys(conf, cls.kind, cls.CONFIG_KEYS)
        for key in ("vocab_size", "encoder_conf", "decoder_conf"):
            if key not in conf:
                raise ValueError(f"the asr config lacks {key!r}")
        feature = conf.pop("feature", None)
        if feature is not None and feature not in FEATURES:
            raise ValueError(f"ASR feature must be one of {FEATURES}, got {feature!r}")
        dim = int(conf.pop("input_dim", None) or
                  (NUM_MEL_BINS if feature in (None, "fbank") else NUM_BINS))
        cmvn = GlobalCMVN(torch.zeros(dim), torch.ones(dim)) if conf.pop("cmvn", True) else None
        return cls(input_dim=dim, global_cmvn=cmvn, feature=feature, **conf)

    # ------------------------------------------------------------------ training
    def forward(self, feats: torch.Tensor, feat_lens: torch.Tensor, ys: torch.Tensor,
                ys_lens: torch.Tensor) -> dict[str, torch.Tensor]:
        """feats (B, T, F), feat_lens (B,), ys (B, L) padded with -1, ys_lens (B,)
        -> dict(loss, loss_ctc, loss_att, encoder_out (B,T',D), encoder_lens (B,))."""
        if feats.size(0) != ys.size(0) or feat_lens.numel() != ys_lens.numel():
            raise ValueError(f"batch sizes differ: feats {feats.size(0)}, ys {ys.size(0)}")
        enc, mask = self.encoder(feats, feat_lens)
        enc_lens = mask.squeeze(1).sum(1)
        zero = enc.new_zeros(())
        loss_ctc = self.ctc(enc, enc_lens, ys, ys_lens) if self.ctc_weight > 0 else zero
        if self.ctc_weight < 1:
            ys_in, ys_out = add_sos_eos(ys, ys_lens, self.sos, self.eos)
            logits = self.decoder(enc, mask, ys_in, ys_lens + 1)
            loss_att = self.criterion_att(logits, ys_out)
        else:
            loss_att = zero
        loss = self.ctc_weight * loss_ctc + (1 - self.ctc_weight) * loss_att
        return dict(loss=loss, loss_ctc=loss_ctc, loss_att=loss_att, encoder_out=enc,
                    encoder_lens=enc_lens)

    # ------------------------------------------------------------------ inference
    def encode(self, feats: torch.Tensor, lens: torch.Tensor, decoding_chunk_size: int = -1,
               num_decoding_left_chunks: int = -1, simulate_streaming: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """feats (B, T, F), lens (B,) -> (enc (B, T', D), enc_lens (B,)).

        ``decoding_chunk_size`` > 0 restricts attention to chunks (needs a chunk-trained
        encoder); ``simulate_streaming`` runs ``forward_chunk_by_chunk`` per utterance.
        """
        if simulate_streaming and decoding_chunk_size > 0:
            outs = [self.encoder.forward_chunk_by_chunk(feats[i:i + 1, :int(n)],
                                                        decoding_chunk_size,
                                                        num_decoding_left_chunks)[0][0]
                    for i, n in enumerate(lens.tolist())]
            enc_lens = torch.tensor([o.size(0) for o in outs], device=feats.device)
            enc = nn.utils.rnn.pad_sequence(outs, batch_first=True)
            return enc, enc_lens
        enc, mask = self.encoder(feats, lens, decoding_chunk_size, num_decoding_left_chunks)
        return enc, mask.squeeze(1).sum(1)

    @torch.no_grad()
    def decode(self, feats: torch.Tensor, lens: torch.Tensor, mode: str = "attention_rescoring",
               beam_size: int = 10, decoding_chunk_size: int = -1,
               num_decoding_left_chunks: int = -1, simulate_streaming: bool = False,
               ctc_weight: float = 0.5) -> list[DecodeResult]:
        """Recognise a batch: feats (B, T, F), lens (B,) -> one :class:`DecodeResult` each."""
        if mode not in DECODE_MODES:
            raise ValueError(f"unknown decode mode {mode!r}; choose from {DECODE_MODES}")
        enc, enc_lens = self.encode(feats, lens, decoding_chunk_size, num_decoding_left_chunks,
                                    simulate_streaming)
        return self.decode_encoded(enc, enc_lens, mode, beam_size, ctc_weight)

    @torch.no_grad()
    def decode_encoded(self, enc: torch.Tensor, enc_lens: torch.Tensor,
                       mode: str = "attention_rescoring", beam_size: int = 10,
                       ctc_weight: float = 0.5, ctc_log_probs: torch.Tensor | None = None
                       ) -> list[DecodeResult]:
        """Decode precomputed encoder outputs enc (B, T', D), enc_lens (B,); ``ctc_log_probs``
        (B, T', V): the CTC log-posteriors when the caller has them already."""
        if mode not in DECODE_MODES:
            raise ValueError(f"unknown decode mode {mode!r}; choose from {DECODE_MODES}")
        log_probs = self.ctc.log_softmax(enc) if ctc_log_probs is None else ctc_log_probs
        if mode == "ctc_greedy_search":
            return ctc_greedy_search(log_probs, enc_lens)
        if mode == "attention":
            return self._attention_beam_search(enc, enc_lens, beam_size)
        nbests = [ctc_prefix_beam_search(log_probs[b, :int(n)], beam_size)
                  for b, n in enumerate(enc_lens.tolist())]
        if mode == "ctc_prefix_beam_search":
            return [DecodeResult(*nb[0]) for nb in nbests]
        mask = (torch.arange(enc.size(1), device=enc.device).unsqueeze(0)
                < enc_lens.unsqueeze(1)).unsqueeze(1)
        return attention_rescoring(self.decoder, enc, mask, nbests, self.sos, self.eos, ctc_weight)

    def _attention_beam_search(self, enc: torch.Tensor, enc_lens: torch.Tensor,
                               beam_size: int, max_len: int | None = None) -> list[DecodeResult]:
        """Autoregressive decoder beam search per utterance (no CTC; times left empty)."""
        results = []
        for b, n in enumerate(enc_lens.tolist()):
            mem = enc[b:b + 1, :int(n)]
            limit = max_len or max(int(n), 1)
            beams: list[tuple[list[int], float]] = [([], 0.0)]
            done: list[tuple[list[int], float]] = []
            for _ in range(limit):
                ys = torch.tensor([[self.sos] + h for h, _ in beams], device=enc.device)
                m = mem.expand(len(beams), -1, -1)
                mask = torch.ones(len(beams), 1, m.size(1), dtype=torch.bool, device=enc.device)
                lens = torch.full((len(beams),), ys.size(1), device=enc.device)
                logp = torch.log_softmax(self.decoder(m, mask, ys, lens)[:, -1].float(), -1)
                cand = []
                for i, (h, s) in enumerate(beams):
                    top_p, top_u = logp[i].topk(min(beam_size, logp.size(-1)))
                    cand += [(h + [u], s + p) for p, u in zip(top_p.tolist(), top_u.tolist())]
                cand.sort(key=lambda c: c[1], reverse=True)
                beams = []
                for h, s in cand[:beam_size]:
                    (done if h[-1] == self.eos else beams).append((h, s))
                if not beams:
                    break
            done += [(h + [self.eos], s) for h, s in beams]
            h, s = max(done, key=lambda c: c[1])
            results.append(DecodeResult(h[:-1], float(s), []))
        return results
