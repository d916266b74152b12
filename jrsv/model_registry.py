"""One registry from a model ``kind`` to its class, and the config checks the classes share.

Every model class (:class:`~jrsv.jrsv.JRSV`, :class:`~jrsv.jrsv.Cascade`,
:class:`~jrsv.separation.model.MTASS`, :class:`~jrsv.asr.model.U2ASR`) owns its configuration:
``model.to_config() -> dict`` and ``cls.from_config(dict) -> model`` with one schema, the
recipe YAML's ``model:`` section and a model directory's ``config.yaml`` ``model:`` section
(docs/ARCHITECTURE.md, "Models"). :func:`build_model` is the one place a config becomes a
model (like WeNet's ``init_model``); :mod:`jrsv.model_io` and the task builders go through it.
Classes are imported lazily (only the one asked for).
"""
from __future__ import annotations

import importlib
from typing import Any, Iterable, Mapping

from torch import nn

MODELS = {"jrsv": ("jrsv.jrsv", "JRSV"), "cascade": ("jrsv.jrsv", "Cascade"),
          "mtass": ("jrsv.separation.model", "MTASS"), "asr": ("jrsv.asr.model", "U2ASR")}
KINDS = tuple(MODELS)


class UnknownModelKind(ValueError):
    """A config names a ``kind`` the registry does not know."""

    def __init__(self, kind: Any):
        self.kind = kind
        super().__init__(f"model kind {kind!r} is not one of {', '.join(KINDS)}")


def model_class(kind: str) -> type:
    """``"jrsv" | "cascade" | "mtass" | "asr"`` -> the class; :class:`UnknownModelKind` else."""
    if kind not in MODELS:
        raise UnknownModelKind(kind)
    module, name = MODELS[kind]
    return getattr(importlib.import_module(module), name)


def build_model(conf: Mapping[str, Any]) -> nn.Module:
    """A ``model:`` config (with ``kind``) -> the untrained model (``cls.from_config``).

    CMVN buffers are placeholders (mean 0, istd 1) until a state dict or data statistics fill
    them. ``UnknownModelKind`` for a missing / unknown kind, ``ValueError`` for a bad key.
    """
    if not isinstance(conf, Mapping):
        raise ValueError(f"a model config must be a mapping, got {type(conf).__name__}")
    return model_class(conf.get("kind")).from_config(conf)


def model_kind(model: nn.Module) -> str:
    """The registry kind of a model instance (its class's ``kind``)."""
    kind = getattr(type(model), "kind", None)
    if kind not in MODELS:
        raise UnknownModelKind(kind)
    return kind


def check_keys(conf: Mapping[str, Any], kind: str, known: Iterable[str]) -> dict[str, Any]:
    """Copy of ``conf`` without ``kind`` after checking it: ``kind`` (if present) must be
    ``kind`` and every other key in ``known``; ``ValueError`` naming the unknown keys."""
    if not isinstance(conf, Mapping):
        raise ValueError(f"the {kind} config must be a mapping, got {type(conf).__name__}")
    conf = dict(conf)
    given = conf.pop("kind", kind)
    if given != kind:
        raise ValueError(f"a {kind} config has kind {given!r}")
    unknown = sorted(set(conf) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} config keys {unknown} (known: {', '.join(known)})")
    return conf
