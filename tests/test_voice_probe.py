"""recipes/dtssvd/local/voice_probe.py: dev sentences read by chosen (re-voiced) gcin-voice speakers."""
import json

import numpy as np
import soundfile as sf

from recipe_scripts import load
from recipe_utils import needs_tools

voice_probe = load("voice_probe")

TEXTS = ["如果不指定本地文件", "从命令行启动", "显示指定命令"]


def _data(tmp_path):
    src = tmp_path / "data" / "sources"
    src.mkdir(parents=True)
    rows = [{"id": f"u{i}", "path": "unused.wav", "speaker": "S1", "text": t} for i, t in enumerate(TEXTS)]
    (src / "speech_dev.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    return tmp_path / "data"


def test_voice_specs_are_checked(tmp_path, capsys):
    data = _data(tmp_path)
    label, voice = voice_probe.parse_voice("gcin-5:0.55,0.86,1.0")
    assert label == "gcin-5_0.55-0.86-1.0" and voice.speaker == "5" and voice.revoice.f0_ratio == 0.55
    assert voice_probe.parse_voice("gcin-3")[1].revoice is None
    for bad, why in (("gcin-7", "not gcin-3/5"), ("gcin-3:1.2,1.0", "not three numbers"),
                     ("gcin-3:1,0,1", "must be > 0")):
        assert voice_probe.main(["--data", str(data), "--out", str(tmp_path / "o"), "--voice", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and bad in err and why in err
    assert voice_probe.main(["--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"),
                             "--voice", "gcin-3"]) == 2
    assert "speech_dev.jsonl: cannot read the source list" in capsys.readouterr().err


@needs_tools
def test_every_voice_reads_the_same_dev_sentences(tmp_path):
    out = tmp_path / "probe"
    assert voice_probe.main(["--data", str(_data(tmp_path)), "--out", str(out), "--sentences", "2",
                             "--voice", "gcin-3", "--voice", "gcin-3:1.7,1.15,1.0"]) == 0
    rows = [json.loads(line) for line in (out / "sources" / "speech_probe.jsonl").read_text().splitlines()]
    assert [r["speaker"] for r in rows] == ["gcin-3"] * 2 + ["gcin-3_1.7-1.15-1.0"] * 2
    assert [r["text"] for r in rows[:2]] == [r["text"] for r in rows[2:]] == TEXTS[:2]
    plain, shifted = (sf.read(rows[i]["path"]) for i in (0, 2))
    assert plain[1] == shifted[1] == 16000
    assert 0.49 < np.abs(plain[0]).max() <= 0.5 and not plain[0][:3200].any()  # 0.2 s lead, peak 0.5

    def centroid(x):
        mag = np.abs(np.fft.rfft(x))
        return (mag * np.fft.rfftfreq(len(x), 1 / 16000)).sum() / mag.sum()

    assert centroid(shifted[0]) > 1.1 * centroid(plain[0])  # F0 x1.7, formants x1.15: a brighter voice
