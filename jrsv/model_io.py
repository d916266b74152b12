"""Model directories: save and load ``jrsv | cascade | mtass | asr`` models.

Layout::

    DIR/model.pt      state dict (loaded with ``torch.load(weights_only=True)``)
    DIR/config.yaml   format_version: 2; model: the model's config (``model.to_config()``,
                      the schema of the recipe's ``model:`` section); frontend: the input the
                      model expects (what the decoder's STFT follows); any extra keys
                      (training provenance, ``decode`` settings)
    DIR/units.txt     token table "<unit> <id>" per line (kinds with an ASR)

Models are built through :func:`jrsv.model_registry.build_model` (``kind`` -> class ->
``from_config``). Directories of ``format_version: 1`` (sections ``mtass`` / ``asr`` /
``jrsv`` beside a top-level ``kind``, ``global_cmvn`` / ``cmvn_dim`` / ``asr_input`` keys, e.g.
the shipped ``jrsv/pretrained/default``) still load: :func:`upgrade_config` rewrites their
config in memory. WeNet checkpoint directories load through :mod:`jrsv.asr.wenet_loader`.

Every file is written through :mod:`jrsv.atomic` (a unique temp file moved into place,
config.yaml last), so a crash never leaves a half-written file. Every load problem raises a one-line
:class:`ModelDirError` naming the directory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
import yaml
from torch import nn

from jrsv.atomic import atomic_path
from jrsv.constants import DEFAULT_STFT, FBANK_FRONTEND, NUM_MEL_BINS
from jrsv.model_registry import KINDS, build_model, model_kind

FORMAT_VERSION = 2
READS_VERSIONS = (1, 2)
STFT_FRONTEND = DEFAULT_STFT.to_config()
__all__ = ["FORMAT_VERSION", "KINDS", "ModelDirError", "build_model", "load_model_dir",
           "model_config", "model_kind", "read_config", "read_units", "save_model_dir",
           "upgrade_config"]


class ModelDirError(RuntimeError):
    """A model directory is missing a file, has an unsupported format or does not fit."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = str(path), " ".join(str(problem).split())
        super().__init__(f"model directory {self.path}: {self.problem}")


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def default_frontend(model_conf: Mapping[str, Any]) -> dict[str, Any]:
    """The ``frontend`` section for a model config: the separator's STFT (kinds jrsv, mtass),
    ``{separation: STFT, asr: fbank}`` (cascade), fbank or STFT by ``feature`` (asr)."""
    kind = model_conf.get("kind")
    if kind == "cascade":
        return {"separation": dict(STFT_FRONTEND), "asr": dict(FBANK_FRONTEND)}
    if kind == "asr" and model_conf.get("feature", "fbank") == "fbank":
        return dict(FBANK_FRONTEND, num_mel_bins=int(model_conf.get("input_dim", NUM_MEL_BINS)))
    return dict(STFT_FRONTEND)


def model_config(model: nn.Module) -> dict[str, Any]:
    """The ``config.yaml`` content for ``model``: format_version, model, frontend."""
    conf = model.to_config()
    return {"format_version": FORMAT_VERSION, "model": conf, "frontend": default_frontend(conf)}


def save_model_dir(model: nn.Module, path: str | Path, units: Iterable[str] | None = None,
                   extra_config: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to directory ``path`` (created if needed).

    Args:
        units: token strings in id order (id = position); required for kinds with an ASR.
        extra_config: more top-level keys for config.yaml (e.g. training provenance, a
            ``frontend`` other than the default); ``format_version`` and ``model`` are ignored.
    Returns the directory path.
    """
    path = Path(path)
    conf = model_config(model)
    if extra_config:
        conf.update({k: v for k, v in extra_config.items() if k not in ("format_version", "model")})
    kind = conf["model"]["kind"]
    units = list(units) if units is not None else None
    if kind != "mtass" and not units:
        raise ValueError(f"saving a {kind} model needs its units (token table)")
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _atomic_write(path / "model.pt", lambda p: torch.save(state, p))
    if units:
        from jrsv.asr.tokenizer import format_units
        text = format_units(units)
        _atomic_write(path / "units.txt", lambda p: p.write_text(text, encoding="utf-8"))
    dumped = yaml.safe_dump(conf, sort_keys=False, allow_unicode=True)
    _atomic_write(path / "config.yaml", lambda p: p.write_text(dumped, encoding="utf-8"))
    return path


def _upgrade_asr(asr: Mapping[str, Any], feature: str | None = None) -> dict[str, Any]:
    """A format-1 ``asr`` section -> the asr config (``cmvn_dim`` -> ``cmvn``, + ``feature``)."""
    asr = dict(asr)
    asr["cmvn"] = bool(asr.pop("cmvn_dim", 0))
    dim = asr.get("input_dim")
    asr["feature"] = feature or ("fbank" if dim == NUM_MEL_BINS else "log_mag")
    return asr


def _upgrade_mtass(mtass: Mapping[str, Any]) -> dict[str, Any]:
    """A format-1 ``mtass`` section -> the mtass config (``global_cmvn`` -> ``cmvn``)."""
    mtass = dict(mtass)
    mtass["cmvn"] = bool(mtass.pop("global_cmvn", False))
    return {"kind": "mtass", **mtass}


def upgrade_config(conf: Mapping[str, Any]) -> dict[str, Any]:
    """A checked format-1 config.yaml -> the format-2 layout (``model:`` section, same frontend
    and extra keys). Raises ``ValueError`` for a missing section."""
    conf = dict(conf)
    conf.pop("format_version", None)
    kind = conf.pop("kind")
    sections = {k: conf.pop(k) for k in ("mtass", "asr", "jrsv") if k in conf}
    for key in {"mtass": ("mtass",), "asr": ("asr",), "jrsv": ("mtass", "asr"),
                "cascade": ("mtass", "asr")}[kind]:
        if not isinstance(sections.get(key), Mapping):
            raise ValueError(f"config.yaml (format_version 1, kind {kind}) lacks the {key!r} "
                             f"section")
    if kind == "mtass":
        model = _upgrade_mtass(sections["mtass"])
    elif kind == "asr":
        model = {"kind": "asr", **_upgrade_asr(sections["asr"])}
    elif kind == "cascade":
        model = {"kind": "cascade", "mtass": _upgrade_mtass(sections["mtass"]),
                 "asr": {"kind": "asr", **_upgrade_asr(sections["asr"], "fbank")}}
    else:
        own = dict(sections.get("jrsv") or {})
        feature = own.pop("asr_input", "log_mag")
        model = {"kind": "jrsv", **own, **_upgrade_asr(sections["asr"], feature),
                 "mtass": _upgrade_mtass(sections["mtass"])}
    out = {"format_version": FORMAT_VERSION, "model": model}
    out["frontend"] = conf.pop("frontend", None) or default_frontend(model)
    out.update(conf)
    return out


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse and check ``DIR/config.yaml`` -> the format-2 layout (a format-1 file is upgraded
    in memory): ``format_version``, ``model`` (with ``kind``),
    ``frontend`` and the extra keys."""
    path = Path(path)
    if not path.is_dir():
        raise ModelDirError(path, "not a directory")
    cfg_file = path / "config.yaml"
    if not cfg_file.is_file():
        raise ModelDirError(path, "missing config.yaml")
    try:
        conf = yaml.safe_load(cfg_file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ModelDirError(path, f"config.yaml is not valid YAML ({type(e).__name__})") from e
    if not isinstance(conf, dict):
        raise ModelDirError(path, "config.yaml is not a mapping")
    version = conf.get("format_version")
    if version not in READS_VERSIONS:
        raise ModelDirError(path, f"config.yaml format_version is {version!r}, this jrsv reads "
                                  f"{' and '.join(map(str, READS_VERSIONS))}")
    if version == 1:
        if conf.get("kind") not in KINDS:
            raise ModelDirError(path, f"config.yaml kind is {conf.get('kind')!r}, expected one "
                                      f"of {', '.join(KINDS)}")
        try:
            conf = upgrade_config(conf)
        except ValueError as e:
            raise ModelDirError(path, str(e)) from None
    if not isinstance(conf.get("model"), dict):
        raise ModelDirError(path, "config.yaml lacks the 'model' section")
    kind = conf["model"].get("kind")
    if kind not in KINDS:
        raise ModelDirError(path, f"config.yaml model.kind is {kind!r}, expected one of "
                                  f"{', '.join(KINDS)}")
    return conf


def read_units(path: str | Path) -> list[str]:
    """``DIR/units.txt`` -> token strings in id order (:func:`jrsv.asr.tokenizer.read_units`)."""
    from jrsv.asr.tokenizer import read_units as read_unit_table
    path = Path(path)
    f = path / "units.txt"
    if not f.is_file():
        raise ModelDirError(path, "missing units.txt")
    try:
        return read_unit_table(f)
    except ValueError as e:
        raise ModelDirError(path, str(e)) from None


def _summarise(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_model_dir(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Load a model directory -> model on ``device`` in eval mode.

    ``model.units`` is set to the token table when the directory has one.
    Raises :class:`ModelDirError` (one line) for a missing file, a wrong format_version or
    kind, an unbuildable config, or a state dict that does not fit the config.
    """
    path = Path(path)
    conf = read_config(path)
    weights = path / "model.pt"
    if not weights.is_file():
        raise ModelDirError(path, "missing model.pt")
    kind = conf["model"]["kind"]
    units = read_units(path) if kind != "mtass" else None
    try:
        model = build_model(conf["model"])
    except Exception as e:  # noqa: BLE001 - any constructor failure is a config problem
        raise ModelDirError(path, f"cannot build the {kind} model from config.yaml: "
                                  f"{type(e).__name__}: {e}") from e
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt / non-tensor pickles
        raise ModelDirError(path, f"cannot read model.pt: {type(e).__name__}: {e}") from e
    if not isinstance(state, dict):
        raise ModelDirError(path, "model.pt does not hold a state dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state)
                    if tuple(own[k].shape) != tuple(getattr(state[k], "shape", ())))
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {_summarise(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_summarise(unexpected)}")
        if shapes:
            k = shapes[0]
            parts.append(f"shape mismatch {_summarise(shapes)} (e.g. {k}: file "
                         f"{tuple(state[k].shape)} vs config {tuple(own[k].shape)})")
        raise ModelDirError(path, "model.pt does not match config.yaml: " + "; ".join(parts))
    model.load_state_dict(state)
    if kind == "cascade":
        _apply_frontend(path, model, conf.get("frontend"))
    if units is not None:
        _check_special_ids(path, model, units)
        model.units = units
    return model.to(device).eval()


def _apply_frontend(path: Path, model: nn.Module, frontend: Any) -> None:
    """A cascade's resynthesis STFT follows the directory's ``frontend`` (``separation`` part);
    ``ModelDirError`` if that is malformed or does not give the separator's ``input_dim`` bins.
    (The decoder reads the ``frontend`` of a jrsv directory itself: ``DecodeEngine``.)"""
    from jrsv.constants import StftFrontend
    from jrsv.nn.frontend import Stft
    try:
        stft = StftFrontend.from_config(frontend)
    except ValueError as e:
        raise ModelDirError(path, str(e)) from None
    if model.mtass.input_dim != stft.num_bins:
        raise ModelDirError(path, f"config.yaml frontend gives {stft.num_bins} STFT bins, the "
                                  f"separator takes {model.mtass.input_dim}")
    model.stft = Stft(stft.n_fft, stft.hop_length, stft.win_length)


def _check_special_ids(path: Path, model: nn.Module, units: list[str]) -> None:
    """The table must fit the ASR's output layer, and when units.txt names ``<sos/eos>`` (or
    ``<sos>`` / ``<eos>``) the ASR's start/end ids (config ``asr.sos_id`` / ``eos_id``) must
    point at it."""
    asr = getattr(model, "asr", model)
    vocab = getattr(asr, "vocab_size", None)
    if vocab is not None and vocab != len(units):
        raise ModelDirError(path, f"units.txt has {len(units)} units but the ASR's vocab_size is "
                                  f"{vocab} (config.yaml)")
    for name, key in (("sos", "<sos>"), ("eos", "<eos>")):
        i = getattr(asr, name, None)
        named = "<sos/eos>" in units or key in units
        if i is not None and named and units[i] not in ("<sos/eos>", key):
            raise ModelDirError(path, f"config.yaml asr.{name}_id is {i}, but units.txt has "
                                      f"{units[i]!r} there (expected <sos/eos>)")
