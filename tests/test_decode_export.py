"""TorchScript export of the separator and the ASR encoder+CTC equals the eager models."""
import json

import pytest
import torch

from test_decode_helpers import TinyASR, tiny_engine
from jrsv.decode.export import AsrCtcGraph, SeparatorGraph, example_inputs, export_engine
from jrsv.separation.model import MTASS

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def test_torchscript_export_equals_eager(tmp_path):
    engine = tiny_engine(MTASS(513, 32, 2, 64, 2, 5), TinyASR())
    manifest = export_engine(engine, tmp_path, frames=120)
    assert json.loads((tmp_path / "export.json").read_text()) == manifest
    for m in manifest["models"].values():
        assert m["max_abs_diff_vs_eager"] < 1e-5
    sep = torch.jit.load(str(tmp_path / "separator.ts"))
    asr = torch.jit.load(str(tmp_path / "asr_ctc.ts"))
    mag, lens = example_inputs(frames=333, batch=2)          # another length and batch
    with torch.no_grad():
        ref_sep = SeparatorGraph(engine.separator)(mag, lens)
        got_sep = sep(mag, lens)
        ref_asr = AsrCtcGraph(engine.asr, engine.asr_features)(mag, lens)
        got_asr = asr(mag, lens)
    for a, b in zip(ref_sep + ref_asr, got_sep + got_asr):
        assert a.shape == b.shape
        assert torch.allclose(a.float(), b.float(), atol=1e-5)
    assert got_asr[0].size(1) == (((333 - 1) // 2 - 1) // 2)
    assert (tmp_path / "units.txt").read_text().splitlines()[0] == "<blank> 0"
