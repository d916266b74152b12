"""recipes/dtssvd/local/package_model.py: a recipe model -> a shippable model dir with provenance and a card."""
import json
from pathlib import Path

import yaml

from jrsv.eval.scores import ScoreFile, write_score
from jrsv.model_io import load_model_dir, read_config, read_units, save_model_dir

from recipe_scripts import load

ROOT = Path(__file__).resolve().parents[1]
package_model = load("package_model")


def _fake_recipe(tmp: Path) -> tuple[Path, Path]:
    exp, data = tmp / "exp", tmp / "data"
    model = load_model_dir(ROOT / "jrsv" / "pretrained" / "default")
    save_model_dir(model, exp / "jrsv_fd" / "final", units=read_units(ROOT / "jrsv" / "pretrained" / "default"))
    (exp / "jrsv_fd" / "train.yaml").write_text(yaml.safe_dump({"model": {"mode": "fd"}}))
    per = {o: {"speech": 50.0, "singing": 60.0} for o in ("0.0", "0.1", "0.3", "0.5", "1.0")}
    write_score(exp / "scores" / "1_asr_multi.json",
                ScoreFile(1, "multi", "cer", per, unmixed={"speech": 12.5, "singing": 34.5}))
    write_score(exp / "scores" / "2_mtass_dis_cst.json",
                ScoreFile(2, "+ L_cst", "sdri", per, per_voice={"speech": {"S1": 9.0, "S2": 4.5},
                                                               "singing": {"M1": 2.5, "W1": 7.0}}))
    (data / "sources").mkdir(parents=True)
    (data / "sources" / "done.json").write_text(json.dumps({"counts": {"speech_train": 3}}))
    (data / "corpora").mkdir()
    from dtssvd.synth import preset
    conf = preset("base", seed=777).to_dict()
    conf.pop("workers")
    (data / "corpora" / "mini_corpora.json").write_text(json.dumps({"config": conf, "stats": {}}))
    return exp, data


def test_package_writes_provenance_card_and_half_weights(tmp_path, capsys):
    exp, data = _fake_recipe(tmp_path)
    out = tmp_path / "models" / "m"
    assert package_model.main(["--exp", str(exp), "--data", str(data), "--out", str(out),
                               "--half", "--made-by", "local/train_default_model.sh"]) == 0
    conf = read_config(out)
    assert conf["trained_on"] == {"corpus": "generated", "preset": "base", "seed": 777}
    card = (out / "MODEL_CARD.md").read_text()
    assert "preset `base`, seed 777" in card and "local/train_default_model.sh" in card
    assert "| 1 | multi, clean utterances | % CER |" in card and "12.5 / 34.5" in card
    assert "50.0 / 60.0" in card
    assert "| 2 | + L_cst | dB SDRi |" in card and "| S2 4.5 / M1 2.5 |" in card  # the worst voices
    load_model_dir(out)  # float16 weights load back
    assert not (tmp_path / "models" / "m.tmp").exists()


def test_real_corpora_provenance(tmp_path):
    assert package_model.provenance(tmp_path) == {"corpus": "real"}
