"""The decoder takes its STFT from the model directory's ``frontend`` (issue 14)."""
import pytest
import torch
import yaml

from test_decode_helpers import UNITS, tone
from jrsv.constants import DEFAULT_STFT, StftFrontend
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.stft_stream import StreamingIstft, StreamingStft
from jrsv.model_io import STFT_FRONTEND, ModelDirError
from jrsv.transcriber import Transcriber


@pytest.fixture()
def model_dir(tmp_path):
    from jrsv.asr.model import U2ASR
    from jrsv.jrsv import JRSV
    from jrsv.model_io import save_model_dir
    from jrsv.separation.model import MTASS
    torch.manual_seed(0)
    mtass = MTASS(513, 16, 2, 32, 1, 5, dropout_rate=0.0)
    enc = dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
               cnn_module_kernel=5, dropout_rate=0.0, positional_dropout_rate=0.0)
    dec = dict(attention_heads=2, linear_units=32, num_blocks=1, dropout_rate=0.0,
               positional_dropout_rate=0.0)
    asr = U2ASR(vocab_size=len(UNITS), input_dim=513, encoder_conf=enc, decoder_conf=dec)
    return save_model_dir(JRSV(mtass, asr), tmp_path / "model", units=UNITS)


def _set_frontend(model_dir, **changes):
    conf = yaml.safe_load((model_dir / "config.yaml").read_text())
    conf["frontend"].update(changes)
    (model_dir / "config.yaml").write_text(yaml.safe_dump(conf))


def test_default_frontend_is_what_model_dirs_record():
    assert STFT_FRONTEND == {"type": "stft_log_magnitude", "sample_rate": 16000, "n_fft": 1024,
                             "hop_length": 256, "win_length": 1024}
    assert StftFrontend.from_config(STFT_FRONTEND) == DEFAULT_STFT
    assert (DEFAULT_STFT.num_bins, DEFAULT_STFT.frames_per_sec) == (513, 62.5)


def test_decoder_builds_its_stft_from_the_model_frontend(model_dir):
    _set_frontend(model_dir, hop_length=128, win_length=800)
    tr = Transcriber(model_dir, config=DecodeConfig(window_sec=2, overlap_sec=0.5,
                                                    min_confidence=0.0))
    assert tr.engine.frontend == StftFrontend(16000, 1024, 128, 800)
    audio = tone(3.0)
    session = tr.session(iter([audio]), "x")
    assert (session.stft.hop, session.stft.n_fft) == (128, 1024)
    assert session.windows.W == 250 and session.windows.O == 62   # 2 s and 0.5 s at 125 fps
    session.read(100)
    frames = sum(job.mag.size(0) for job in session.sep_jobs) - 62 * (len(session.sep_jobs) - 1)
    assert frames == 16000 * 3 // 128 + 1
    want = torch.stft(torch.from_numpy(audio), 1024, 128, 800, torch.hann_window(800),
                      center=True, return_complex=True).abs().T
    assert torch.allclose(session.sep_jobs[0].mag, want[:250], atol=1e-3)
    result = tr.transcribe(audio, 16000)
    assert abs(result.duration - 3.0) < 1e-6
    for seg in result.speech + result.singing:
        assert 0 <= seg.start < seg.end <= 3.0 + 1e-6


def test_streaming_istft_inverts_a_short_window_stft():
    fe = StftFrontend(16000, 1024, 128, 800)
    x = torch.from_numpy(tone(1.0))
    stft = StreamingStft.from_frontend(fe)
    spec = torch.cat([stft.push(x), stft.finish()])
    inv = StreamingIstft.from_frontend(fe)
    y = torch.cat([inv.push(spec), inv.finish(x.numel())])
    assert torch.allclose(y, x, atol=1e-4)


@pytest.mark.parametrize("changes, message", [
    (dict(n_fft=512, win_length=512), "frontend gives 257 STFT bins, the separator takes 513"),
    (dict(sample_rate=8000), "decoding reads audio at 16000 Hz; the model's front-end is 8000"),
    (dict(hop_length=0), "frontend.hop_length must be a positive integer, got 0"),
    (dict(type="fbank"), "frontend type 'fbank' is not 'stft_log_magnitude'"),
    (dict(win_length=2048), "frontend needs hop_length <= win_length <= n_fft"),
])
def test_bad_frontend_is_one_clear_error(model_dir, changes, message):
    _set_frontend(model_dir, **changes)
    with pytest.raises(ModelDirError, match=message) as e:
        Transcriber(model_dir)
    assert str(model_dir) in str(e.value)


def test_live_decoder_builds_its_stft_from_the_model_frontend(model_dir):
    """The live decoder (jrsv decode -, jrsv serve) takes the same frontend as the file decoder:
    STFT geometry, window sizes in frames and caption times at the model's frame rate."""
    from jrsv.decode.live import LiveConfig, LiveDecoder
    _set_frontend(model_dir, hop_length=128, win_length=800)
    tr = Transcriber(model_dir, config=DecodeConfig(min_confidence=0.0))
    cfg = LiveConfig(min_confidence=0.0)
    dec = LiveDecoder(tr.engine, cfg)
    assert (dec.stft.hop, dec.stft.n_fft) == (128, 1024)
    assert dec.frontend.frames_per_sec == 125.0
    assert dec._partial_frames == round(cfg.partial_sec * 125)
    assert all(s.frontend == dec.frontend for s in dec.segmenters.values())
    events = dec.push(tone(3.0)) + dec.finish()
    for e in events:
        assert 0 <= e.start <= e.end <= 3.0 + 1e-6
