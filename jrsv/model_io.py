"""Model directories: save and load ``jrsv | cascade | mtass | asr`` models.

Layout::

    DIR/model.pt      state dict (loaded with ``torch.load(weights_only=True)``)
    DIR/config.yaml   format_version: 1, kind, and the sub-configs (mtass, asr, jrsv, frontend)
    DIR/units.txt     token table "<unit> <id>" per line (kinds with an ASR)

Every file is written through :mod:`jrsv.atomic` (a unique temp file moved into place,
config.yaml last), so a crash never leaves a half-written file. Every load problem raises a one-line
:class:`ModelDirError` naming the directory.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Iterable

import torch
import yaml
from torch import nn

from jrsv.atomic import atomic_path
from jrsv.constants import DEFAULT_STFT, SAMPLE_RATE
from jrsv.separation.model import MTASS

FORMAT_VERSION = 1
KINDS = ("jrsv", "cascade", "mtass", "asr")
STFT_FRONTEND = DEFAULT_STFT.to_config()
FBANK_FRONTEND = {"type": "fbank", "sample_rate": SAMPLE_RATE, "num_mel_bins": 80,
                  "frame_length_ms": 25.0, "frame_shift_ms": 10.0}


class ModelDirError(RuntimeError):
    """A model directory is missing a file, has an unsupported format or does not fit."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = str(path), " ".join(str(problem).split())
        super().__init__(f"model directory {self.path}: {self.problem}")


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def _asr_class():
    return importlib.import_module("jrsv.asr.model").U2ASR


def _asr_config(asr: nn.Module) -> dict[str, Any]:
    conf = getattr(asr, "config", None)
    if not isinstance(conf, dict):
        raise ValueError(f"{type(asr).__name__} has no .config dict; cannot save it")
    return dict(conf)


def _build_asr(conf: dict[str, Any]) -> nn.Module:
    cls = _asr_class()
    if hasattr(cls, "from_config"):
        return cls.from_config(conf)
    return cls(**conf)


def model_kind(model: nn.Module) -> str:
    """``"jrsv" | "cascade" | "mtass" | "asr"`` for a model instance."""
    from jrsv.jrsv import JRSV, Cascade  # local: jrsv.jrsv imports the separation package
    if isinstance(model, JRSV):
        return "jrsv"
    if isinstance(model, Cascade):
        return "cascade"
    if isinstance(model, MTASS):
        return "mtass"
    return "asr"


def model_config(model: nn.Module) -> dict[str, Any]:
    """The ``config.yaml`` content for ``model``."""
    kind = model_kind(model)
    conf: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": kind}
    if kind == "mtass":
        conf.update(mtass=dict(model.config), frontend=dict(STFT_FRONTEND))
    elif kind == "asr":
        conf.update(asr=_asr_config(model))
    elif kind == "jrsv":
        conf.update(mtass=dict(model.mtass.config), asr=_asr_config(model.asr),
                    jrsv=dict(model.config), frontend=dict(STFT_FRONTEND))
    else:
        conf.update(mtass=dict(model.mtass.config), asr=_asr_config(model.asr),
                    frontend={"separation": dict(STFT_FRONTEND), "asr": dict(FBANK_FRONTEND)})
    return conf


def save_model_dir(model: nn.Module, path: str | Path, units: Iterable[str] | None = None,
                   extra_config: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to directory ``path`` (created if needed).

    Args:
        units: token strings in id order (id = position); required for kinds with an ASR.
        extra_config: more top-level keys for config.yaml (e.g. training provenance).
    Returns the directory path.
    """
    path = Path(path)
    conf = model_config(model)
    if extra_config:
        conf.update({k: v for k, v in extra_config.items() if k not in ("format_version", "kind")})
    units = list(units) if units is not None else None
    if conf["kind"] != "mtass" and not units:
        raise ValueError(f"saving a {conf['kind']} model needs its units (token table)")
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


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse and check ``DIR/config.yaml`` (format_version, kind)."""
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
    if version != FORMAT_VERSION:
        raise ModelDirError(path, f"config.yaml format_version is {version!r}, "
                                  f"this jrsv reads {FORMAT_VERSION}")
    if conf.get("kind") not in KINDS:
        raise ModelDirError(path, f"config.yaml kind is {conf.get('kind')!r}, expected one of "
                                  f"{', '.join(KINDS)}")
    for key in {"mtass": ("mtass",), "asr": ("asr",), "jrsv": ("mtass", "asr"),
                "cascade": ("mtass", "asr")}[conf["kind"]]:
        if not isinstance(conf.get(key), dict):
            raise ModelDirError(path, f"config.yaml (kind {conf['kind']}) lacks the {key!r} section")
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


def build_model(conf: dict[str, Any]) -> nn.Module:
    """Instantiate (untrained) the model a checked config describes."""
    from jrsv.jrsv import JRSV, Cascade
    kind = conf["kind"]
    if kind == "mtass":
        return MTASS.from_config(conf["mtass"])
    if kind == "asr":
        return _build_asr(conf["asr"])
    mtass, asr = MTASS.from_config(conf["mtass"]), _build_asr(conf["asr"])
    if kind == "jrsv":
        return JRSV(mtass, asr, **conf.get("jrsv", {}))
    return Cascade(mtass, asr)


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
    units = read_units(path) if conf["kind"] != "mtass" else None
    try:
        model = build_model(conf)
    except ModelDirError:
        raise
    except Exception as e:  # noqa: BLE001 - any constructor failure is a config problem
        raise ModelDirError(path, f"cannot build the {conf['kind']} model from config.yaml: "
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
    if units is not None:
        _check_special_ids(path, model, units)
        model.units = units
    return model.to(device).eval()


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
