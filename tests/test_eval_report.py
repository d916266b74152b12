import json

import numpy as np
import pytest

from jrsv.eval.scores import ScoreFile, cer_from_counts, read_score, write_score
from recipe_utils import recipe_module

report = recipe_module("report")
build_report, render_table = report.build_report, report.render_table


def _score(table, system, metric="cer", base=10.0):
    per = {o: {"speech": base + i, "singing": base + 2 * i}
           for i, o in enumerate(("0.0", "0.1", "0.3", "0.5", "1.0"))}
    return ScoreFile(table=table, system=system, metric=metric, per_overlap=per,
                     unmixed={"speech": 6.3, "singing": 88.2} if table == 1 else None,
                     command=f"run.sh --stage 5 # {system}")


def test_average_and_roundtrip(tmp_path):
    s = _score(4, "JRSV-f-d")
    assert s.average("speech") == pytest.approx(12.0)
    write_score(tmp_path / "t4.json", s)
    assert read_score(tmp_path / "t4.json") == s


def test_cer_from_counts_can_exceed_100():
    assert cer_from_counts({"singing": {"err": 30, "ref": 12}})["singing"] == pytest.approx(250.0)


def test_tables_have_paper_layout():
    t1 = render_table(1, [_score(1, "speech")])
    assert "| `speech` | 6.3 / 88.2 | 10.0 / 10.0 |" in t1
    t4 = render_table(4, [_score(4, "JRSV-f-d")])
    assert t4.splitlines()[2].startswith("| system | 0.0 | 0.1 | 0.3 | 0.5 | 1.0 | Avg. |")
    assert "| JRSV-f-d | 10.0 / 10.0 | 11.0 / 12.0 |" in t4 and "12.0 / 14.0 |" in t4


def test_report_with_plots(tmp_path):
    sd = tmp_path / "scores"
    for t, name, m in [(1, "multi", "cer"), (2, "MTASS", "sdri"), (3, "ASR / MTASS", "cer"),
                       (4, "JRSV-f", "cer")]:
        write_score(sd / f"{t}_{name.replace(' ', '').replace('/', '')}.json", _score(t, name, m))
    ex = tmp_path / "example.npz"
    np.savez(ex, mixture=np.random.rand(50, 513), speech_est=np.random.rand(50, 513))
    text = build_report(sd, tmp_path / "exp" / "report.md", ex)
    assert "(not run)" not in text
    for png in ("cer_vs_overlap.png", "sdri_vs_overlap.png", "example_spectrograms.png"):
        assert (tmp_path / "exp" / png).stat().st_size > 1000


def test_bad_score_file_names_the_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"table": 1}))
    with pytest.raises(ValueError, match="bad.json"):
        read_score(p)


def test_rows_in_paper_order(tmp_path):
    sd = tmp_path / "scores"
    for i, name in enumerate(["+ L_cst", "MTASS", "+ L_dis"]):
        write_score(sd / f"2_{i}.json", _score(2, name, "sdri"))
    text = build_report(sd, tmp_path / "report.md")
    assert text.index("| MTASS |") < text.index("| + L_dis |") < text.index("| + L_cst |")


def test_cascade_rows_in_paper_order(tmp_path):
    """'+ L_dis' is a row of Tables 2 and 3: each table keeps its own order."""
    sd = tmp_path / "scores"
    for i, name in enumerate(["+ L_dis", "+ L_dis + L_cst", "ASR / MTASS"]):
        write_score(sd / f"3_{i}.json", _score(3, name))
    write_score(sd / "2_0.json", _score(2, "+ L_dis", "sdri"))
    t3 = build_report(sd, tmp_path / "report.md").split("### Table 3")[1]
    assert t3.index("| ASR / MTASS |") < t3.index("| + L_dis |") < t3.index("| + L_dis + L_cst |")
