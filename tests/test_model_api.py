"""One model API (issue 14): to_config / from_config per kind, the kind registry, model
directories of format 2, and format-1 directories (the shipped default model) still loading."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from jrsv.asr.model import U2ASR
from jrsv.data.audio import load_audio
from jrsv.jrsv import JRSV, Cascade
from jrsv.model_io import (FORMAT_VERSION, ModelDirError, load_model_dir, read_config, read_units,
                           save_model_dir)
from jrsv.model_registry import KINDS, UnknownModelKind, build_model, model_class, model_kind
from jrsv.nn.frontend import Stft
from jrsv.separation.model import MTASS
from jrsv.tasks.asr import TASK_KEYS as ASR_TASK_KEYS
from jrsv.tasks.jrsv_task import TASK_KEYS as JRSV_TASK_KEYS
from jrsv.tasks.mtass import TASK_KEYS as MTASS_TASK_KEYS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "jrsv" / "pretrained" / "default"
# the default model shipped until session 6, kept as written then (format 1): an old model dir
V1_DEFAULT = ROOT / "tests" / "data" / "format1_default"
UNITS = ["<blank>", "<unk>"] + list("abcdefgh") + ["<sos/eos>"]
MT = dict(input_dim=33, output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
          cnn_module_kernel=5, dropout_rate=0.0)
ENC = dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1, cnn_module_kernel=5,
           dropout_rate=0.0, positional_dropout_rate=0.0)
DEC = dict(attention_heads=2, linear_units=32, num_blocks=1, dropout_rate=0.0)


def _asr(input_dim: int, **kw) -> U2ASR:
    return U2ASR(len(UNITS), input_dim, dict(ENC), dict(DEC), **kw)


def _cmvn(dim: int):
    from jrsv.nn.cmvn import GlobalCMVN
    return GlobalCMVN(torch.randn(dim), torch.rand(dim) + 0.5)


def _models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "mtass": MTASS(**MT, global_cmvn=_cmvn(33)),
        "asr": _asr(80, global_cmvn=_cmvn(80)),
        "jrsv": JRSV(MTASS(**MT), _asr(33, global_cmvn=_cmvn(33)), mode="fd", distill_weight=0.2),
        "jrsv_mag": JRSV(MTASS(**MT, heads=("speech", "singing", "music")), _asr(33),
                         mode="t", asr_input="mag"),
        "cascade": Cascade(MTASS(**dict(MT, input_dim=513)), _asr(80, global_cmvn=_cmvn(80))),
    }


def _outputs(model: torch.nn.Module) -> list[torch.Tensor]:
    """Deterministic outputs of ``model`` (eval mode) on fixed inputs."""
    model.eval()
    g = torch.Generator().manual_seed(1)
    lens = torch.tensor([40, 31])
    if isinstance(model, MTASS):
        return list(model(torch.rand(2, 40, 33, generator=g), lens).values())
    if isinstance(model, U2ASR):
        return list(model.encode(torch.randn(2, 40, 80, generator=g), lens))
    if isinstance(model, JRSV):
        est = model.separate(torch.rand(2, 40, 33, generator=g), lens)
        return list(est.values()) + list(model.asr.encode(*model.stack(est, lens)))
    mag, phase = Stft().magnitude_phase(0.1 * torch.randn(2, 8192, generator=g))
    out = model.separate_waveforms(mag, phase, torch.tensor([33, 20]))
    return [w for pair in out.values() for w in pair]


@pytest.mark.parametrize("name", ["mtass", "asr", "jrsv", "jrsv_mag", "cascade"])
def test_to_config_from_config_round_trip(name):
    model = _models()[name]
    conf = model.to_config()
    assert conf["kind"] == model_kind(model) == type(model).kind
    assert yaml.safe_load(yaml.safe_dump(conf)) == conf          # plain YAML data
    again = build_model(conf)
    assert type(again) is type(model) and again.to_config() == conf
    own, new = model.state_dict(), again.state_dict()
    assert list(own) == list(new)
    assert all(own[k].shape == new[k].shape for k in own)
    again.load_state_dict(own)
    for a, b in zip(_outputs(model), _outputs(again), strict=True):
        assert torch.equal(a, b)


def test_config_keys_are_checked():
    with pytest.raises(ValueError, match=r"unknown asr config keys \['cmvn_dim'\]"):
        U2ASR.from_config({**_asr(80).to_config(), "cmvn_dim": 80})
    with pytest.raises(ValueError, match="a mtass config has kind 'asr'"):
        MTASS.from_config({**MT, "kind": "asr"})
    with pytest.raises(ValueError, match="lacks the 'mtass' section"):
        JRSV.from_config({k: v for k, v in _models()["jrsv"].to_config().items() if k != "mtass"})
    with pytest.raises(ValueError, match="lacks 'vocab_size'"):
        U2ASR.from_config({"encoder_conf": ENC, "decoder_conf": DEC})
    with pytest.raises(ValueError, match="ASR feature must be one of"):
        U2ASR.from_config({**_asr(80).to_config(), "feature": "mfcc"})


def test_asr_feature_sets_the_input_dim():
    conf = {"vocab_size": 11, "encoder_conf": ENC, "decoder_conf": DEC}
    assert U2ASR.from_config(conf).to_config()["input_dim"] == 80
    assert U2ASR.from_config(dict(conf, feature="log_mag")).to_config()["input_dim"] == 513
    assert U2ASR.from_config(dict(conf, feature="fbank", cmvn=False)).encoder.global_cmvn is None


def test_registry():
    assert KINDS == ("jrsv", "cascade", "mtass", "asr")
    assert [model_class(k) for k in KINDS] == [JRSV, Cascade, MTASS, U2ASR]
    with pytest.raises(UnknownModelKind, match="model kind 'conformer' is not one of jrsv, "):
        build_model({"kind": "conformer"})
    with pytest.raises(UnknownModelKind, match="model kind None"):
        build_model({"input_dim": 3})


@pytest.mark.parametrize("conf_name", ["mtass_tiny", "mtass_small", "mtass_paper", "asr_tiny",
                                       "asr_small", "asr_paper", "jrsv_tiny", "jrsv_small",
                                       "jrsv_paper"])
def test_recipe_model_sections_are_model_configs(conf_name):
    """The recipe's model: section is the model's schema (less the task's own keys)."""
    m = yaml.safe_load((ROOT / "recipes" / "dtssvd" / "conf" / f"{conf_name}.yaml").read_text())
    m = m["model"]
    cls = model_class(m["kind"])
    task_keys = {"asr": ASR_TASK_KEYS, "jrsv": JRSV_TASK_KEYS, "mtass": MTASS_TASK_KEYS}[m["kind"]]
    own = set(m) - set(task_keys) - {"kind"}
    known = set(cls.CONFIG_KEYS) | (set(U2ASR.CONFIG_KEYS) if cls is JRSV else set())
    assert own <= known, own - known
    if conf_name.endswith("tiny"):
        conf = {k: v for k, v in m.items() if k not in task_keys}
        conf.setdefault("vocab_size", len(UNITS)) if m["kind"] != "mtass" else None
        if m["kind"] == "jrsv":
            conf["mtass"] = {"kind": "mtass", **MT, "input_dim": 513}
        model = build_model(conf)
        assert {k: v for k, v in model.to_config().items() if k in m} == \
            {k: v for k, v in m.items() if k in own | {"kind"}}


@pytest.mark.parametrize("name", ["mtass", "asr", "jrsv", "cascade"])
def test_model_dir_round_trip(tmp_path, name):
    model = _models()[name].eval()
    d = save_model_dir(model, tmp_path / name, units=None if name == "mtass" else UNITS,
                       extra_config={"trained_on": {"seed": 3}})
    raw = yaml.safe_load((d / "config.yaml").read_text())
    assert raw["format_version"] == FORMAT_VERSION == 2
    assert raw["model"] == model.to_config() and raw["trained_on"] == {"seed": 3}
    assert read_config(d) == raw
    loaded = load_model_dir(d)
    assert loaded.to_config() == model.to_config()
    for a, b in zip(_outputs(model), _outputs(loaded), strict=True):
        assert torch.equal(a, b)


def test_asr_dir_records_its_frontend(tmp_path):
    fbank = read_config(save_model_dir(_asr(80), tmp_path / "f", units=UNITS))["frontend"]
    assert (fbank["type"], fbank["num_mel_bins"]) == ("fbank", 80)
    stft = read_config(save_model_dir(_asr(513), tmp_path / "s", units=UNITS))["frontend"]
    assert (stft["type"], stft["n_fft"], stft["hop_length"]) == ("stft_log_magnitude", 1024, 256)


def test_unknown_kind_in_a_model_dir_is_one_line(tmp_path):
    d = save_model_dir(_models()["mtass"], tmp_path / "m")
    conf = yaml.safe_load((d / "config.yaml").read_text())
    conf["model"]["kind"] = "wavlm"
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    with pytest.raises(ModelDirError) as e:
        load_model_dir(d)
    assert str(e.value) == (f"model directory {d}: config.yaml model.kind is 'wavlm', expected "
                            f"one of jrsv, cascade, mtass, asr")
    del conf["model"]
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    with pytest.raises(ModelDirError, match="lacks the 'model' section"):
        load_model_dir(d)
    conf["model"] = {"kind": "mtass", **MT, "bogus": 1}
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    with pytest.raises(ModelDirError, match=r"cannot build the mtass model from config.yaml: "
                                            r"ValueError: unknown mtass config keys \['bogus'\]"):
        load_model_dir(d)


# ------------------------------------------------------------------ format 1
def _write_v1(model, d: Path, units=None) -> Path:
    """The format-1 layout the jrsv of before issue 14 wrote for ``model``."""
    def mt(m):
        c = {k: v for k, v in m.to_config().items() if k not in ("kind", "cmvn")}
        return dict(c, global_cmvn=m.to_config()["cmvn"])

    def asr(a):
        c = {k: v for k, v in a.to_config().items() if k not in ("kind", "cmvn", "feature")}
        return dict(c, cmvn_dim=c["input_dim"] if a.to_config()["cmvn"] else 0)
    kind = model_kind(model)
    conf = {"format_version": 1, "kind": kind}
    if kind == "mtass":
        conf.update(mtass=mt(model))
    elif kind == "asr":
        conf.update(asr=asr(model))
    else:
        conf.update(mtass=mt(model.mtass), asr=asr(model.asr))
        if kind == "jrsv":
            conf["jrsv"] = dict(model._config, asr_input=model.asr_input)
    d.mkdir(parents=True)
    torch.save(model.state_dict(), d / "model.pt")
    if units:
        (d / "units.txt").write_text("".join(f"{u} {i}\n" for i, u in enumerate(units)))
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    return d


@pytest.mark.parametrize("name", ["mtass", "asr", "jrsv", "jrsv_mag", "cascade"])
def test_format_1_dirs_load(tmp_path, name):
    model = _models()[name].eval()
    d = _write_v1(model, tmp_path / name, None if name == "mtass" else UNITS)
    loaded = load_model_dir(d)
    assert loaded.to_config() == model.to_config()
    for a, b in zip(_outputs(model), _outputs(loaded), strict=True):
        assert torch.equal(a, b)


def test_formerly_shipped_format_1_model_loads_and_decodes_as_resaved(tmp_path):
    """The formerly shipped default model (format 1, as written then) loads; saved again as format 2 it
    gives the same config, weights and tokens."""
    assert yaml.safe_load((V1_DEFAULT / "config.yaml").read_text())["format_version"] == 1
    old = load_model_dir(V1_DEFAULT)
    conf = read_config(V1_DEFAULT)
    assert conf["format_version"] == 2
    assert conf["model"] == {k: v for k, v in old.to_config().items() if k in conf["model"]}
    assert old.to_config().keys() - conf["model"].keys() == {"sos_id", "eos_id"}  # V - 1
    assert (old.asr.sos, old.asr.eos) == (230, 230)
    assert conf["model"]["feature"] == "log_mag" and conf["model"]["mtass"]["cmvn"] is True
    assert conf["decode"]["min_confidence"] == 0.35 and conf["frontend"]["hop_length"] == 256
    extra = {k: v for k, v in conf.items() if k not in ("format_version", "model")}
    new_dir = save_model_dir(old, tmp_path / "v2", units=read_units(V1_DEFAULT), extra_config=extra)
    assert read_config(new_dir) == dict(conf, model=old.to_config())
    new = load_model_dir(new_dir)
    assert all(torch.equal(v, new.state_dict()[k]) for k, v in old.state_dict().items())
    audio = load_audio(DEFAULT.parent / "sample" / "sample.flac", 16000)
    wav = torch.from_numpy(np.ascontiguousarray(audio[:16000 * 6])).unsqueeze(0)
    mag = Stft()(wav)
    lens = torch.tensor([mag.size(1)])
    a = old.transcribe(mag, lens, mode="ctc_greedy_search")
    b = new.transcribe(mag, lens, mode="ctc_greedy_search")
    assert [h.tokens for t in ("speech", "singing") for h in a[t]] == \
        [h.tokens for t in ("speech", "singing") for h in b[t]]
    assert sum(len(h.tokens) for t in ("speech", "singing") for h in a[t]) > 0


def test_a_loaded_cascade_follows_its_frontend(tmp_path):
    mt = dict(MT, input_dim=257)
    cascade = Cascade(MTASS(**mt), _asr(80))
    fe = {"separation": {"type": "stft_log_magnitude", "sample_rate": 16000, "n_fft": 512,
                         "hop_length": 128, "win_length": 512}, "asr": {"type": "fbank"}}
    d = save_model_dir(cascade, tmp_path / "c", units=UNITS, extra_config={"frontend": fe})
    stft = load_model_dir(d).stft
    assert (stft.n_fft, stft.hop_length, stft.win_length) == (512, 128, 512)
    fe["separation"]["n_fft"] = 1024
    d = save_model_dir(cascade, tmp_path / "c2", units=UNITS, extra_config={"frontend": fe})
    with pytest.raises(ModelDirError, match="frontend gives 513 STFT bins, the separator takes 257"):
        load_model_dir(d)


def test_jrsv_asr_init_does_not_depend_on_the_separator():
    """A seeded JRSV task gets the ASR weights a seeded ASR alone gets (as before the model
    API, when the separator was loaded rather than built)."""
    conf = _models()["jrsv"].to_config()
    torch.manual_seed(5)
    jrsv = JRSV.from_config(conf)
    torch.manual_seed(5)
    asr = U2ASR.from_config({k: v for k, v in conf.items() if k in U2ASR.CONFIG_KEYS})
    assert all(torch.equal(v, asr.state_dict()[k]) for k, v in jrsv.asr.state_dict().items())


def test_average_final_writes_the_model_at_a_chosen_step(tmp_path):
    """jrsv average --final: a training checkpoint (task weights, ``model.`` prefix for JRSV)
    -> a model dir with the template's config and units whose weights are the checkpoint's."""
    from jrsv.bin.average_model import main as average_main
    from jrsv.train.checkpoint import atomic_save

    model = _models()["jrsv"]
    template = save_model_dir(model, tmp_path / "final", units=UNITS)
    task_state = {f"model.{k}": (v + 1 if v.is_floating_point() else v)
                  for k, v in model.state_dict().items()}
    task_state["stft.window"] = torch.ones(8)  # the task's own buffers are not the model's
    atomic_save({"model": task_state, "step": 7, "metrics": {}}, str(tmp_path / "step_00000007.pt"))
    out = tmp_path / "final_step7"
    assert average_main(["--dst", str(tmp_path / "avg.pt"), "--final", str(out), "--template",
                         str(template), str(tmp_path / "step_00000007.pt")]) == 0
    got = load_model_dir(out)
    assert read_units(out) == UNITS and got.to_config() == model.to_config()
    for k, v in got.state_dict().items():
        assert torch.equal(v, task_state[f"model.{k}"]), k
    # a checkpoint of another model is a one-line error
    atomic_save({"model": {"w": torch.ones(2)}}, str(tmp_path / "step_00000008.pt"))
    assert average_main(["--dst", str(tmp_path / "b.pt"), "--final", str(tmp_path / "bad"),
                         "--template", str(template), str(tmp_path / "step_00000008.pt")]) == 1
