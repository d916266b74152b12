"""The ASR task's dev CER (CTC greedy), used for the learning curves."""
from __future__ import annotations

import torch

from jrsv.asr.model import U2ASR
from jrsv.tasks.asr import ASRTask, greedy_cer

ENC = dict(output_size=32, attention_heads=2, linear_units=64, num_blocks=1, cnn_module_kernel=3,
           subsampling_channels=8)


def _task() -> ASRTask:
    torch.manual_seed(0)
    asr = U2ASR(vocab_size=10, input_dim=80, encoder_conf=dict(ENC),
                decoder_conf=dict(attention_heads=2, linear_units=64, num_blocks=1))
    return ASRTask(asr, "fbank", spec_aug=True)


def _batch():
    return {"wav": torch.randn(2, 16000) * 0.1, "wav_lens": torch.tensor([16000, 12000]),
            "tokens": torch.tensor([[3, 4, 5], [6, 7, -1]]), "token_lens": torch.tensor([3, 2])}


def test_cer_only_in_eval_mode():
    task = _task()
    assert "cer" not in task.train()(_batch())
    out = task.eval()(_batch())
    assert set(out) == {"loss", "loss_ctc", "loss_att", "cer"} and out["cer"].item() >= 0.0


def test_greedy_cer_counts_errors(monkeypatch):
    task = _task()
    # frames: 3 blank 3 4 | 6 6 blank 8 -> hyps [3, 3, 4] and [6, 8] against refs [3, 4, 5] and [6, 7]
    frames = torch.tensor([[3, 0, 3, 4], [6, 6, 0, 8]])
    monkeypatch.setattr(task.asr.ctc, "log_softmax", lambda enc: torch.log(
        torch.nn.functional.one_hot(frames, 10).float() + 1e-9))
    cer = greedy_cer(task.asr, torch.zeros(2, 4, 32), torch.tensor([4, 4]),
                     torch.tensor([[3, 4, 5], [6, 7, -1]]), torch.tensor([3, 2]))
    assert abs(cer.item() - 3 / 5) < 1e-6  # (1 insertion + 1 deletion) + 1 substitution over 5 characters
