"""recipes/dtssvd/local/per_speaker_cer.py: CER per speaker/singer of an fbank ASR on a split's sources."""
import json
from pathlib import Path

import numpy as np

from jrsv.asr.model import U2ASR
from jrsv.data.audio import save_audio
from jrsv.model_io import build_model, read_config, read_units, save_model_dir

from recipe_scripts import load

ROOT = Path(__file__).resolve().parents[1]
per_speaker_cer = load("per_speaker_cer")


def test_prints_cer_per_speaker(tmp_path, capsys):
    conf = read_config(ROOT / "jrsv" / "pretrained" / "default")
    asr_conf = {k: v for k, v in conf["model"].items() if k in U2ASR.CONFIG_KEYS}
    model = build_model(dict(asr_conf, kind="asr", feature="fbank", input_dim=80, cmvn=False))
    # untrained: its CER is whatever it is
    save_model_dir(model, tmp_path / "asr", units=read_units(ROOT / "jrsv" / "pretrained" / "default"))
    src = tmp_path / "data" / "sources"
    src.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for track, spk in (("speech", ["S1", "S2"]), ("singing", ["Man_26"])):
        rows = []
        for i, s in enumerate(spk):
            wav = tmp_path / f"{track}{i}.wav"
            save_audio(wav, (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
            rows.append({"id": f"{s}_{i}", "path": str(wav), "speaker": s, "text": "你好"})
        (src / f"{track}_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert per_speaker_cer.main(["--model", str(tmp_path / "asr"), "--data", str(tmp_path / "data"),
                                 "--beam-size", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("test speech (2 utterances): S1 ") and " S2 " in out[0]
    assert out[0].endswith("% CER")
    assert out[1].startswith("test singing (1 utterances): Man_26 ")
    # two splits, a seeded sample, greedy search; a missing source list is a one-line error
    (src / "speech_dev.jsonl").write_text((src / "speech_test.jsonl").read_text())
    (src / "singing_dev.jsonl").write_text((src / "singing_test.jsonl").read_text())
    args = ["--model", str(tmp_path / "asr"), "--data", str(tmp_path / "data"),
            "--decode-mode", "ctc_greedy_search", "--max-utts", "1"]
    assert per_speaker_cer.main(args + ["--split", "test,dev"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [o.split(" (")[0] for o in out] == ["test speech", "test singing", "dev speech",
                                               "dev singing"]
    assert all("(1 utterances)" in o for o in out)
    assert per_speaker_cer.main(args + ["--tracks", "speech"]) == 0  # one track only
    assert [o.split(" (")[0] for o in capsys.readouterr().out.splitlines()] == ["test speech"]
    assert per_speaker_cer.main(args + ["--split", "train"]) == 2
    err = capsys.readouterr().err
    assert "speech_train.jsonl: cannot read the source list" in err
