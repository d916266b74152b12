"""Training tasks on a tiny recipe data dir made by recipe stages 0-1 (generated corpora)."""
import json

import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from jrsv.model_io import load_model_dir, save_model_dir
from jrsv.tasks import build_task
from recipe_utils import RECIPE, needs_tools, run_recipe

pytestmark = needs_tools


def _tiny_conf(name: str, data_dir, **model) -> dict:
    conf = yaml.safe_load((RECIPE / "conf" / f"{name}_tiny.yaml").read_text())
    conf["data"]["dir"] = str(data_dir)
    conf["data"]["batch_size"] = 2
    conf["data"]["epoch_size"] = 4
    m = conf["model"]
    for key in ("encoder_conf", "decoder_conf"):
        if key in m:
            m[key].update(num_blocks=1, linear_units=64)
            if key == "encoder_conf":
                m[key]["output_size"] = 32
    if name == "mtass":
        m.update(output_size=32, num_blocks=1, linear_units=64)
    m.update(model)
    return conf


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("recipe")
    r = run_recipe(w, "--stage", "0", "--stop-stage", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    return w


def test_stage_0_1_outputs_and_skip(work):
    data = work / "data"
    for f in ("units.txt", "cmvn_fbank.json", "cmvn_logmag_clean.json", "cmvn_logmag_mix.json",
              "dtssvd/dev.jsonl", "dtssvd/test.jsonl"):
        assert (data / f).is_file(), f
    counts = json.loads((data / "sources" / "done.json").read_text())["counts"]
    assert all(counts[f"{k}_{s}"] > 0 for k in ("speech", "singing", "music")
               for s in ("train", "dev", "test")), counts
    mtime = (data / "units.txt").stat().st_mtime
    r = run_recipe(work, "--stage", "0", "--stop-stage", "1")
    assert r.returncode == 0 and "up to date, skipping" in r.stderr and "already built" in r.stdout
    assert (data / "units.txt").stat().st_mtime == mtime


def _one_step(conf):
    task, train, valid, collate = build_task(conf)
    batch = next(iter(DataLoader(train, batch_size=2, collate_fn=collate)))
    out = task(batch)
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in task.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads[:3])
    task.eval()
    with torch.no_grad():
        v = task(collate([valid[0], valid[1]]))
    assert torch.isfinite(v["loss"])
    return task, out


@pytest.mark.parametrize("track", ["speech", "singing", "multi"])
def test_asr_task(work, track):
    conf = _tiny_conf("asr", work / "data")
    conf["data"]["track"] = track
    _, out = _one_step(conf)
    assert set(out) == {"loss", "loss_ctc", "loss_att"}


class RecordingWriter:
    """Stands in for tensorboard's SummaryWriter: records what the tasks log."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if not name.startswith("add_"):
            raise AttributeError(name)
        return lambda tag, value, step, **kw: self.calls.append((name, tag, value))


def test_mtass_then_jrsv_tasks(work, tmp_path):
    conf = _tiny_conf("mtass", work / "data")
    task, out = _one_step(conf)
    assert {"mag", "dis", "cst"} <= set(out)
    w = RecordingWriter()
    task.log_examples(w, 1)
    tags = {(kind, tag) for kind, tag, _ in w.calls}
    assert {("add_scalar", "dev_sdr/speech"), ("add_audio", "example/mixture"),
            ("add_audio", "example/singing")} <= tags
    assert all(abs(v) < 100 for kind, _, v in w.calls if kind == "add_scalar")
    save_model_dir(task.export_model(), tmp_path / "mtass" / "final")
    assert load_model_dir(tmp_path / "mtass" / "final").input_dim == 513
    for mode in ("t", "fd"):
        jconf = _tiny_conf("jrsv", work / "data", mode=mode, mtass_dir=str(tmp_path / "mtass"))
        jtask, out = _one_step(jconf)
        trainable = [p.requires_grad for p in jtask.model.mtass.parameters()]
        assert all(trainable) if mode == "t" else not any(trainable)
        assert ("loss_distil" in out) == (mode == "fd") and ("loss_mtass" in out) == (mode == "t")
        w = RecordingWriter()
        jtask.log_examples(w, 1)
        text = [v for kind, tag, v in w.calls if tag == "dev/transcripts"]
        assert len(text) == 1 and "speech REF:" in text[0] and "singing HYP:" in text[0]
        assert any(tag == "dev_sdr/speech" for _, tag, _ in w.calls) == (mode == "t")


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="model.kind"):
        build_task({"model": {"kind": "nope"}})


def test_run_sh_only_and_steps_scale(work):
    """--only trains just the named models; --steps-scale multiplies the tiny step budgets."""
    r = run_recipe(work, "--stage", "2", "--stop-stage", "3", "--only", "asr_singing",
                   "--steps-scale", "2", "--override",
                   "data.batch_size=2 model.encoder_conf.num_blocks=1 model.decoder_conf.num_blocks=1 "
                   "model.encoder_conf.output_size=32 model.encoder_conf.linear_units=64")
    assert r.returncode == 0, r.stderr[-3000:]
    exp = work / "exp"
    assert sorted(p.name for p in exp.iterdir()) == ["asr_singing"]
    assert r.stderr.count("not in --only") == 5
    conf = yaml.safe_load((exp / "asr_singing" / "train.yaml").read_text())
    assert conf["train"]["max_steps"] == 160  # tiny budget 80 x 2
    ckpts = sorted((exp / "asr_singing").glob("step_*.pt"))
    assert ckpts and ckpts[-1].name == "step_00000160.pt"


def test_jrsv_asr_warm_start(work, tmp_path):
    """model.asr_init copies the clean ASR's blocks, decoder and CTC; the 513-dim input is new."""
    aconf = _tiny_conf("asr", work / "data")
    atask, _, _, _ = build_task(aconf)
    units = (work / "data" / "units.txt").read_text(encoding="utf-8").splitlines()
    save_model_dir(atask.export_model(), tmp_path / "asr" / "final", units=[u.rsplit(" ", 1)[0] for u in units])
    mconf = _tiny_conf("mtass", work / "data")
    mtask, _, _, _ = build_task(mconf)
    save_model_dir(mtask.export_model(), tmp_path / "mtass" / "final")
    jconf = _tiny_conf("jrsv", work / "data", mode="f", mtass_dir=str(tmp_path / "mtass"),
                       asr_init=str(tmp_path / "asr"))
    jtask, _, _, _ = build_task(jconf)
    src, dst = atask.export_model().state_dict(), jtask.model.asr.state_dict()
    for k in ("encoder.encoders.0.self_attn.linear_q.weight", "decoder.decoders.0.feed_forward.w_1.weight",
              "ctc.ctc_lo.weight", "encoder.embed.conv.2.weight"):
        assert torch.equal(src[k], dst[k]), k
    assert src["encoder.embed.out.0.weight"].shape != dst["encoder.embed.out.0.weight"].shape


def test_model_init_fine_tunes_from_a_trained_model_dir(work, tmp_path):
    """model.init starts from every weight (CMVN included) of a trained model dir or of an
    experiment dir's final/; a JRSV init needs no mtass_dir; another shape is a one-line error."""
    units = [u.rsplit(" ", 1)[0] for u in
             (work / "data" / "units.txt").read_text(encoding="utf-8").splitlines()]
    mtask, _, _, _ = build_task(_tiny_conf("mtass", work / "data"))
    save_model_dir(mtask.export_model(), tmp_path / "mtass" / "final")
    jtask, _, _, _ = build_task(_tiny_conf("jrsv", work / "data", mtass_dir=str(tmp_path / "mtass")))
    trained = jtask.export_model()
    with torch.no_grad():  # weights and statistics no fresh build has
        for v in trained.state_dict().values():
            if v.is_floating_point():
                v.add_(0.25)
    save_model_dir(trained, tmp_path / "exp" / "final", units=units)
    for init in (tmp_path / "exp", tmp_path / "exp" / "final"):
        conf = _tiny_conf("jrsv", work / "data", mtass_dir="", init=str(init))
        model = build_task(conf)[0].export_model()
        for k, v in trained.state_dict().items():
            assert torch.equal(model.state_dict()[k], v), k
        assert "init" not in model.to_config()
    asr_task, _, _, _ = build_task(_tiny_conf("asr", work / "data"))
    save_model_dir(asr_task.export_model(), tmp_path / "asr", units=units)
    got = build_task(_tiny_conf("asr", work / "data", init=str(tmp_path / "asr")))[0].export_model()
    assert all(torch.equal(got.state_dict()[k], v) for k, v in asr_task.export_model().state_dict().items())
    wider = _tiny_conf("jrsv", work / "data", mtass_dir="", init=str(tmp_path / "exp"))
    wider["model"]["encoder_conf"]["output_size"] = 64
    with pytest.raises(ValueError, match=r"model.init .*exp/final: \d+ tensor\(s\) differ"):
        build_task(wider)
    with pytest.raises(ValueError, match=r"model.init .*asr: holds a asr model; the config builds a jrsv"):
        build_task(_tiny_conf("jrsv", work / "data", mtass_dir="", init=str(tmp_path / "asr")))
    with pytest.raises(ValueError, match="model.mtass_dir .* or model.init"):
        build_task(_tiny_conf("jrsv", work / "data", mtass_dir=""))


def test_bench_padding_on_recipe_data(work, tmp_path, capsys):
    """jrsv bench-padding: bucketing pads less; one timed training step per setting runs."""
    from jrsv.bin.bench_padding import padding_fraction
    from jrsv.bin.main import main

    assert padding_fraction([[0, 1]], [1.0, 3.0]) == pytest.approx(1 / 3)
    conf = tmp_path / "asr.yaml"
    conf.write_text(yaml.safe_dump(_tiny_conf("asr", work / "data")))
    rc = main(["bench-padding", "--config", str(conf), "--data", str(work / "data"),
               "--bucket-batches", "0,2", "--steps", "1", "--rounds", "1"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)["bucket_batches"]
    assert res["2"]["padding"] <= res["0"]["padding"] and res["2"]["examples_per_s"] > 0
    assert main(["bench-padding", "--config", str(conf), "--data", str(work / "data"),
                 "--bucket-batches", "x"]) == 2


def test_bench_train_amp_on_recipe_data(work, tmp_path, capsys):
    """jrsv bench-train: the same JRSV batches train under each train.amp setting; ratios against
    the first; a bad setting is a one-line error."""
    from jrsv.bin.main import main

    mconf = _tiny_conf("mtass", work / "data")
    mtask, _, _, _ = build_task(mconf)
    save_model_dir(mtask.export_model(), tmp_path / "mtass" / "final")
    conf = tmp_path / "jrsv.yaml"
    conf.write_text(yaml.safe_dump(_tiny_conf("jrsv", work / "data", mode="fd",
                                              mtass_dir=str(tmp_path / "mtass"))))
    rc = main(["bench-train", "--config", str(conf), "--data", str(work / "data"),
               "--amp", "none,bf16", "--steps", "1", "--rounds", "1"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["amp"]) == {"none", "bf16"} and out["amp"]["none"]["speedup_vs_first"] == 1.0
    assert out["audio_s_per_step"] > 0 and out["amp"]["bf16"]["examples_per_s"] > 0
    assert main(["bench-train", "--config", str(conf), "--data", str(work / "data"),
                 "--amp", "fp8"]) == 2
    assert "train.amp must be" in capsys.readouterr().err


def test_jrsv_validation_reports_each_tracks_greedy_cer(work, tmp_path):
    """In eval mode JRSV.forward adds cer_speech / cer_singing; each equals the CER of that
    track's hypotheses from the inference path (JRSV.transcribe, CTC greedy)."""
    from jrsv.asr.cer import corpus_cer

    mtask, _, _, _ = build_task(_tiny_conf("mtass", work / "data"))
    save_model_dir(mtask.export_model(), tmp_path / "mtass" / "final")
    task, _, valid, collate = build_task(_tiny_conf("jrsv", work / "data", mode="fd",
                                                    mtass_dir=str(tmp_path / "mtass")))
    batch = collate([valid[i] for i in range(3)])
    task.train()
    assert not any(k.startswith("cer_") for k in task(batch))
    task.eval()
    with torch.no_grad():
        out = task(batch)
        mix_mag, _ = task.stft.magnitude_phase(batch["mixture"])
        from jrsv.tasks import common
        hyps = task.model.transcribe(mix_mag, common.stft_frames(batch["wav_lens"]),
                                     mode="ctc_greedy_search")
    for t in ("speech", "singing"):
        toks, lens = batch[f"{t}_tokens"], batch[f"{t}_token_lens"]
        want = corpus_cer([(toks[b, :int(n)].tolist(), h.tokens)
                           for b, (n, h) in enumerate(zip(lens, hyps[t]))]).cer
        assert float(out[f"cer_{t}"]) == pytest.approx(want), t
