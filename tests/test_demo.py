"""`make demo` end to end on the tiny generated corpora with the bundled default model."""
import json
import math
from pathlib import Path

from recipe_utils import needs_tools

from jrsv.bin import demo

ROOT = Path(__file__).resolve().parents[1]


@needs_tools
def test_demo_decodes_and_scores(tmp_path, capsys):
    rc = demo.main(["--model", str(ROOT / "models" / "default"), "--corpora", str(tmp_path / "c"),
                    "--out", str(tmp_path / "o"), "--preset", "tiny", "--threads", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "== speech ==" in out and "== singing ==" in out and "SDRi" in out
    scores = json.loads((tmp_path / "o" / "scores.json").read_text())
    for track in ("speech", "singing"):
        s = scores[track]
        assert s["ref_chars"] > 0 and math.isfinite(s["sdri"]) and s["cer"] >= 0
        assert (tmp_path / "o" / "stems" / f"stream.{track}.wav").is_file()
    refs = json.loads((tmp_path / "o" / "references.json").read_text())
    assert [r["overlap"] for r in refs] == list(demo.OVERLAPS)


def test_demo_missing_model_is_one_line_error(tmp_path, capsys):
    assert demo.main(["--model", str(tmp_path / "nope"), "--corpora", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_demo_stream_comes_from_the_models_own_corpora(tmp_path):
    """The demo must draw its held-out stream from the corpora the model was trained on: a
    different preset's test split can hold the model's training voices and sentences."""
    import shutil

    import yaml

    model = tmp_path / "m"
    shutil.copytree(ROOT / "models" / "default", model)
    conf = yaml.safe_load((model / "config.yaml").read_text())
    conf["trained_on"] = {"corpus": "generated", "preset": "base", "seed": 5}
    (model / "config.yaml").write_text(yaml.safe_dump(conf, allow_unicode=True))
    assert demo.corpus_of(model) == ("base", 5)
    assert demo.corpus_of(model, "tiny") == ("tiny", 5)
    assert demo.default_corpora("base").parts[-2:] == ("data_base", "corpora")
    assert demo.default_corpora("mini").parts[-2:] == ("data", "corpora")
    conf.pop("trained_on")
    (model / "config.yaml").write_text(yaml.safe_dump(conf, allow_unicode=True))
    assert demo.corpus_of(model) == ("mini", demo.SEED)  # models packaged before trained_on
