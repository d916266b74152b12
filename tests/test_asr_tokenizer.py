"""One detokeniser (CharTokenizer.decode) and special ids looked up in the unit table."""
import pytest

from test_decode_helpers import ScaleSeparator, TinyASR
from jrsv.asr.tokenizer import CharTokenizer, read_units, write_units
from jrsv.decode.engine import DecodeEngine
from jrsv.eval.tally import CerTally, hypothesis_text

WORDS = ["我", "爱", "HELLO", "WORLD", "你"]
OLD = ["<blank>", "<unk>"] + WORDS + ["<sos/eos>"]            # <sos/eos> last (jrsv, WeNet < 2024)
NEW = ["<blank>", "<unk>", "<sos/eos>"] + WORDS               # WeNet recipes since 2024


@pytest.mark.parametrize("units", [OLD, NEW])
def test_every_text_path_gives_the_same_text(units):
    tok = CharTokenizer(units)
    ids = [units.index(w) for w in WORDS]
    assert tok.decode(ids) == "我爱HELLO WORLD你"
    engine = DecodeEngine(ScaleSeparator(), TinyASR(vocab=len(units)), units)
    assert engine.text(ids) == "我爱HELLO WORLD你"
    assert hypothesis_text(ids, units) == "我爱HELLO WORLD你"
    tally = CerTally(units)
    assert tally.add("0.0", "speech", "u1", "我爱 hello world 你", ids).errors == 0
    # specials are dropped wherever they sit; sos/eos is not a character
    specials = [0, tok.sos_id, tok.eos_id]
    assert tok.decode(specials + ids + specials) == "我爱HELLO WORLD你"
    assert tok.decode([units.index("HELLO"), len(units) + 5]) == "HELLO <unk>"


def test_bpe_pieces_and_space_units():
    units = ["<blank>", "<unk>", "\u2581HEL", "LO", "\u2581WORLD", "<space>", "你", "<sos/eos>"]
    tok = CharTokenizer(units)
    assert tok.decode([2, 3, 4]) == "HELLO WORLD"
    assert tok.decode([6, 5, 6]) == "你 你"


def test_special_ids_from_the_table_and_from_train_yaml(tmp_path):
    old, new = CharTokenizer(OLD), CharTokenizer(NEW)
    assert (old.blank_id, old.unk_id, old.sos_id, old.eos_id) == (0, 1, 7, 7)
    assert (new.blank_id, new.unk_id, new.sos_id, new.eos_id) == (0, 1, 2, 2)
    assert new.encode("我爱你") == [3, 4, 7]
    conf = {"<blank>": 0, "<unk>": 1, "<sos>": 2, "<eos>": 2}
    assert CharTokenizer(NEW, special_tokens=conf).sos_id == 2
    write_units(NEW, tmp_path / "units.txt")
    assert CharTokenizer(tmp_path / "units.txt").eos_id == 2
    with pytest.raises(ValueError, match=r"units.txt: special token <sos> is id 3, but the unit "
                                         r"table has '我' there"):
        CharTokenizer(tmp_path / "units.txt", special_tokens={"<sos>": 3})
    with pytest.raises(ValueError, match="<blank> must be id 0"):
        CharTokenizer(["<unk>", "<blank>", "a", "<sos/eos>"])
    with pytest.raises(ValueError, match="no <sos/eos> unit"):
        CharTokenizer(["<blank>", "<unk>", "a", "b"])


def test_units_txt_errors_name_file_and_line(tmp_path):
    f = tmp_path / "units.txt"
    f.write_text("<blank> 0\n<unk>\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"units.txt:2: expected '<unit> <id>'"):
        read_units(f)
    f.write_text("<blank> 0\na 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"units.txt: ids are not 0..1"):
        read_units(f)
    f.write_text("<blank> 0\na 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"units.txt:2: id 0 given twice"):
        read_units(f)
