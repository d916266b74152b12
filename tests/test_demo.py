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
