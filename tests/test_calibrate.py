"""Confidence-gate calibration: the sweep, the choice, config.yaml, and the decoders' default."""
import shutil
from pathlib import Path

import pytest
from recipe_utils import needs_tools

from jrsv.bin import calibrate
from jrsv.decode.formats import Segment, Transcript
from jrsv.decode.pipeline import DEFAULT_MIN_CONFIDENCE, model_min_confidence
from jrsv.model_io import read_config

ROOT = Path(__file__).resolve().parents[1]


def _transcript() -> Transcript:
    # real words at 0.6-0.8; a hallucination on music at 0.3; a real but unsure word at 0.2
    return Transcript(speech=[Segment(0, 1, "你好", 0.8), Segment(2, 3, "音乐", 0.3),
                              Segment(4, 5, "世界", 0.2)],
                      singing=[Segment(0, 1, "月亮", 0.6), Segment(2, 3, "星星", 0.3)])


def test_sweep_scores_what_each_threshold_keeps():
    rows = calibrate.sweep(_transcript(), {"speech": "你好世界", "singing": "月亮"}, [0.0, 0.25, 0.5, 0.9])
    by_t = {r["threshold"]: r for r in rows}
    assert by_t[0.0]["speech_errors"] == 2 and by_t[0.0]["singing_errors"] == 2   # 2 insertions each
    assert by_t[0.25]["speech_errors"] == 2 and by_t[0.25]["singing_errors"] == 2
    assert by_t[0.5]["speech_errors"] == 2 and by_t[0.5]["singing_errors"] == 0   # 世界 lost
    assert by_t[0.9]["speech_cer"] == pytest.approx(100.0) and by_t[0.9]["singing_cer"] == 100.0
    best = calibrate.best_threshold(rows)
    assert best["threshold"] == 0.5 and best["mean_cer"] == pytest.approx(25.0)


def test_best_threshold_prefers_the_lowest_on_ties():
    rows = [{"threshold": t, "mean_cer": 10.0} for t in (0.4, 0.1, 0.3)]
    assert calibrate.best_threshold(rows)["threshold"] == 0.1
    assert calibrate.threshold_grid(0.25) == [0.0, 0.25, 0.5, 0.75]


def test_written_gate_becomes_the_decoders_default(tmp_path):
    from jrsv.decode.transcriber import Transcriber

    model = tmp_path / "m"
    shutil.copytree(ROOT / "jrsv" / "pretrained" / "default", model)
    conf = read_config(model)
    conf.pop("decode", None)
    assert model_min_confidence(conf) == DEFAULT_MIN_CONFIDENCE
    calibrate.write_threshold(model, 0.15, "test")
    assert model_min_confidence(read_config(model)) == 0.15
    assert Transcriber(model).config.min_confidence == 0.15
    assert not (model / "config.yaml.tmp").exists()
    calibrate.write_threshold(model, 0.2, "a second run")  # replaces the card's section
    card = (model / "MODEL_CARD.md").read_text()
    assert card.count("## Confidence gate") == 1 and "0.2`, chosen by a second run" in card
    assert "## Training config" in card


@needs_tools
def test_calibrate_end_to_end_on_tiny_corpora(tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(ROOT / "jrsv" / "pretrained" / "default", model)
    from dtssvd.corpora import ensure_corpora
    ensure_corpora(tmp_path / "c", "tiny", 777)
    rc = calibrate.main(["--model", str(model), "--corpora", str(tmp_path / "c"), "--mixtures", "2",
                         "--music-gap", "1", "--step", "0.25", "--out", str(tmp_path / "o"),
                         "--threads", "1", "--write"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "best gate" in out and (tmp_path / "o" / "stream.wav").is_file()
    gate = read_config(model)["decode"]["min_confidence"]
    assert gate in (0.0, 0.25, 0.5, 0.75)
