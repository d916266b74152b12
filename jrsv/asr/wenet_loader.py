"""Load a WeNet Conformer U2 checkpoint directory into :class:`U2ASR`.

Directory: ``final.pt`` (state dict), ``train.yaml``, ``units.txt``, and optionally the
global CMVN json named by the yaml (``cmvn_file`` or ``cmvn_conf.cmvn_file``; looked up as
given, then by file name inside the directory). CMVN json: ``mean_stat``, ``var_stat``,
``frame_num`` (sums over frames, as WeNet's ``compute_cmvn_stats.py`` writes).

Both WeNet layouts load:

- before 2024: ``units.txt`` ends with ``<sos/eos>``; ``final.pt`` has no positional tables;
- since 2024: ``units.txt`` is ``<blank> 0``, ``<unk> 1``, ``<sos/eos> 2``, then the units;
  ``train.yaml`` has ``tokenizer_conf.special_tokens`` (``<blank>``, ``<unk>``, ``<sos>``,
  ``<eos>``); ``final.pt`` also holds the sinusoidal tables ``encoder.embed.pos_enc.pe`` and
  ``decoder.embed.1.pe``. jrsv computes those tables itself: a saved table is checked against
  the sinusoid (``ValueError`` if it differs) and then dropped.

The start/end ids the model uses come from the unit table / ``special_tokens``
(:class:`CharTokenizer`), never from their position.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import yaml

from jrsv.asr.model import U2ASR
from jrsv.asr.tokenizer import CharTokenizer
from jrsv.nn.cmvn import GlobalCMVN
from jrsv.nn.embedding import PositionalEncoding, sinusoid_table

PE_ATOL = 1e-4  # saved sinusoid tables (float32, WeNet's formula) agree to ~1e-6

_ENCODER_KEYS = {"output_size", "attention_heads", "linear_units", "num_blocks", "dropout_rate",
                 "positional_dropout_rate", "attention_dropout_rate", "input_layer",
                 "pos_enc_layer_type", "normalize_before", "static_chunk_size",
                 "use_dynamic_chunk", "use_dynamic_left_chunk", "macaron_style",
                 "use_cnn_module", "cnn_module_kernel", "causal", "cnn_module_norm"}
_DECODER_KEYS = {"attention_heads", "linear_units", "num_blocks", "dropout_rate",
                 "positional_dropout_rate", "self_attention_dropout_rate",
                 "src_attention_dropout_rate", "input_layer", "use_output_layer",
                 "normalize_before"}


def load_wenet_cmvn(path: str | Path) -> GlobalCMVN:
    """WeNet json CMVN -> :class:`GlobalCMVN` (variance floored at 1e-20, as WeNet)."""
    try:
        d = json.loads(Path(path).read_text())
        n = float(d["frame_num"])
        mean = torch.tensor(d["mean_stat"], dtype=torch.float64) / n
        var = torch.tensor(d["var_stat"], dtype=torch.float64) / n - mean * mean
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a WeNet json CMVN file ({e})") from e
    istd = 1.0 / var.clamp(min=1e-20).sqrt()
    return GlobalCMVN(mean.float(), istd.float())


def _check_conf(name: str, conf: dict[str, Any], allowed: set[str], yaml_path: Path) -> dict:
    conf = dict(conf or {})
    if name == "encoder_conf":
        for key, ok in (("selfattention_layer_type", "rel_selfattn"), ("activation_type", "swish")):
            if conf.get(key, ok) != ok:
                raise ValueError(f"{yaml_path}: {name}.{key}={conf[key]!r} not supported (only {ok!r})")
    return {k: v for k, v in conf.items() if k in allowed}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        y = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: cannot read the WeNet config ({e})") from e
    if not isinstance(y, dict):
        raise ValueError(f"{path}: not a WeNet train.yaml (not a mapping)")
    return y


def special_tokens(train_yaml: str | Path) -> dict[str, int] | None:
    """``tokenizer_conf.special_tokens`` of a WeNet ``train.yaml`` (None when absent)."""
    path = Path(train_yaml)
    conf = (_read_yaml(path).get("tokenizer_conf") or {}).get("special_tokens")
    if conf is None:
        return None
    if not isinstance(conf, dict):
        raise ValueError(f"{path}: tokenizer_conf.special_tokens is not a mapping")
    return dict(conf)


def wenet_config(train_yaml: str | Path) -> tuple[dict[str, Any], str | None]:
    """Map a WeNet ``train.yaml`` to ``U2ASR`` keyword arguments; also returns the CMVN path.
    (The start/end ids are added by :func:`load_wenet_checkpoint` from the unit table.)"""
    path = Path(train_yaml)
    y = _read_yaml(path)
    if y.get("encoder", "conformer") != "conformer":
        raise ValueError(f"{path}: encoder {y['encoder']!r} not supported (only 'conformer')")
    if y.get("decoder", "transformer") != "transformer":
        raise ValueError(f"{path}: decoder {y['decoder']!r} not supported (only 'transformer'; "
                         "a bitransformer checkpoint has r_decoder weights)")
    for key in ("input_dim", "output_dim"):
        if key not in y:
            raise ValueError(f"{path}: missing {key!r}")
    model_conf = y.get("model_conf") or {}
    kwargs = dict(vocab_size=int(y["output_dim"]), input_dim=int(y["input_dim"]), feature="fbank",
                  encoder_conf=_check_conf("encoder_conf", y.get("encoder_conf"), _ENCODER_KEYS, path),
                  decoder_conf=_check_conf("decoder_conf", y.get("decoder_conf"), _DECODER_KEYS, path),
                  ctc_weight=float(model_conf.get("ctc_weight", 0.3)),
                  lsm_weight=float(model_conf.get("lsm_weight", 0.1)),
                  length_normalized_loss=bool(model_conf.get("length_normalized_loss", False)))
    cmvn = y.get("cmvn_file") or (y.get("cmvn_conf") or {}).get("cmvn_file")
    return kwargs, cmvn


def _resolve(cmvn: str, directory: Path) -> Path:
    for cand in (Path(cmvn), directory / cmvn, directory / Path(cmvn).name):
        if cand.is_file():
            return cand
    raise ValueError(f"{directory}: CMVN file {cmvn!r} named in train.yaml not found")


def load_wenet_checkpoint(directory: str | Path, checkpoint: str = "final.pt",
                          map_location: str = "cpu") -> tuple[U2ASR, CharTokenizer]:
    """Build :class:`U2ASR` from a WeNet directory (either layout, see the module docstring)
    and load its weights strictly.

    Raises ``ValueError`` naming the checkpoint file and listing missing, unexpected and
    shape-mismatched keys, or naming a saved positional table that is not the sinusoid.
    """
    directory = Path(directory)
    kwargs, cmvn = wenet_config(directory / "train.yaml")
    tokenizer = CharTokenizer(directory / "units.txt", special_tokens(directory / "train.yaml"))
    if tokenizer.vocab_size != kwargs["vocab_size"]:
        raise ValueError(f"{directory}: units.txt has {tokenizer.vocab_size} units, "
                         f"train.yaml output_dim is {kwargs['vocab_size']}")
    global_cmvn = load_wenet_cmvn(_resolve(cmvn, directory)) if cmvn else None
    model = U2ASR(global_cmvn=global_cmvn, sos_id=tokenizer.sos_id, eos_id=tokenizer.eos_id,
                  **kwargs)
    ckpt = directory / checkpoint
    try:
        state = torch.load(ckpt, map_location=map_location, weights_only=True)
    except (OSError, RuntimeError, EOFError) as e:
        raise ValueError(f"{ckpt}: cannot read the checkpoint ({e})") from e
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    state = drop_positional_tables(model, state, ckpt)
    load_state_dict_strict(model, state, ckpt)
    return model.eval(), tokenizer


def drop_positional_tables(model: torch.nn.Module, state: dict[str, torch.Tensor],
                           source: str | Path) -> dict[str, torch.Tensor]:
    """Remove saved sinusoid tables (``<module>.pe`` of a :class:`PositionalEncoding`, shape
    (1, L, D)) that the model computes itself, after checking each against
    :func:`sinusoid_table`. ``ValueError`` naming ``source`` and the key if one differs."""
    own = model.state_dict()
    out = dict(state)
    for key, value in state.items():
        if key in own or not key.endswith(".pe"):
            continue
        try:
            module = model.get_submodule(key[:-len(".pe")])
        except AttributeError:
            continue
        if not isinstance(module, PositionalEncoding):
            continue
        if value.dim() != 3 or value.size(0) != 1 or value.size(2) != module.d_model:
            raise ValueError(f"{source}: {key} has shape {tuple(value.shape)}, expected "
                             f"(1, L, {module.d_model}) (a sinusoidal position table)")
        want = sinusoid_table(value.size(1), module.d_model)
        diff = float((value[0].float() - want).abs().max()) if value.numel() else 0.0
        if not diff <= PE_ATOL:
            raise ValueError(f"{source}: {key} is not the sinusoidal position table jrsv "
                             f"computes (max difference {diff:.3g} > {PE_ATOL:g}); "
                             "a model trained with other position encodings is not supported")
        del out[key]
    return out


def load_state_dict_strict(model: torch.nn.Module, state: dict[str, torch.Tensor],
                           source: str | Path) -> None:
    """``load_state_dict`` that reports every problem in one error naming ``source``."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                        for k in set(own) & set(state) if state[k].shape != own[k].shape)
    if missing or unexpected or mismatched:
        lines = [f"{source}: state dict does not match the model built from train.yaml"]
        for title, items in (("missing", missing), ("unexpected", unexpected),
                             ("shape mismatch", mismatched)):
            if items:
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:20])
                             + (" ..." if len(items) > 20 else ""))
        raise ValueError("\n".join(lines))
    model.load_state_dict(state, strict=True)
