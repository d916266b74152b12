"""U2ASR: shapes, padding invariance, chunked encoding, parameter count, overfitting."""
import time

import pytest
import torch

from jrsv.asr.cer import corpus_cer
from jrsv.asr.model import U2ASR

torch.set_num_threads(1)

ENC = dict(output_size=32, attention_heads=4, linear_units=64, num_blocks=2, cnn_module_kernel=5,
           dropout_rate=0.0, positional_dropout_rate=0.0)
DEC = dict(attention_heads=4, linear_units=64, num_blocks=2, dropout_rate=0.0,
           positional_dropout_rate=0.0)
V = 8


def _model(**enc):
    torch.manual_seed(0)
    return U2ASR(V, 20, {**ENC, **enc}, DEC).eval()


def test_forward_shapes_and_loss_mix():
    m = _model()
    feats = torch.randn(3, 41, 20)
    lens = torch.tensor([41, 30, 17])
    ys = torch.tensor([[1, 2, 3], [4, 5, -1], [6, -1, -1]])
    out = m(feats, lens, ys, torch.tensor([3, 2, 1]))
    assert out["encoder_out"].shape == (3, 9, 32)
    assert out["encoder_lens"].tolist() == [9, 6, 3]  # ((T-1)//2-1)//2
    assert out["loss"].item() == pytest.approx(
        0.3 * out["loss_ctc"].item() + 0.7 * out["loss_att"].item(), rel=1e-6)
    out["loss"].backward()
    assert m.decoder.embed[0].weight.grad is not None and m.ctc.ctc_lo.weight.grad is not None


def test_padded_batch_equals_single_items():
    m = _model()
    torch.manual_seed(1)
    items = [torch.randn(t, 20) for t in (45, 31, 22)]
    ys_items = [torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6]), torch.tensor([3])]
    feats = torch.nn.utils.rnn.pad_sequence(items, batch_first=True)
    lens = torch.tensor([len(x) for x in items])
    enc, enc_lens = m.encode(feats, lens)
    mask = (torch.arange(enc.size(1)) < enc_lens.unsqueeze(1)).unsqueeze(1)
    ys_in = torch.nn.utils.rnn.pad_sequence([torch.cat([torch.tensor([V - 1]), y]) for y in ys_items],
                                            batch_first=True, padding_value=V - 1)
    ys_lens = torch.tensor([len(y) + 1 for y in ys_items])
    logits = m.decoder(enc, mask, ys_in, ys_lens)
    batch_res = m.decode(feats, lens, "attention_rescoring", beam_size=4)
    for i, x in enumerate(items):
        e1, l1 = m.encode(x.unsqueeze(0), lens[i:i + 1])
        n = int(l1)
        assert n == int(enc_lens[i])
        assert torch.allclose(enc[i, :n], e1[0], atol=1e-5)
        lg1 = m.decoder(e1, torch.ones(1, 1, n, dtype=torch.bool), ys_in[i:i + 1, :ys_lens[i]],
                        ys_lens[i:i + 1])
        assert torch.allclose(logits[i, :ys_lens[i]], lg1[0], atol=1e-5)
        single = m.decode(x.unsqueeze(0), lens[i:i + 1], "attention_rescoring", beam_size=4)[0]
        assert single.tokens == batch_res[i].tokens
        assert single.score == pytest.approx(batch_res[i].score, abs=1e-3)


def test_decode_encoded_modes_and_bad_mode():
    m = _model()
    feats, lens = torch.randn(2, 40, 20), torch.tensor([40, 33])
    enc, enc_lens = m.encode(feats, lens)
    for mode in ("ctc_greedy_search", "ctc_prefix_beam_search", "attention", "attention_rescoring"):
        res = m.decode_encoded(enc, enc_lens, mode, beam_size=3)
        assert len(res) == 2 and all(isinstance(t, int) for r in res for t in r.tokens)
        assert all(0 < t < V - 1 for r in res for t in r.tokens)
    with pytest.raises(ValueError, match="unknown decode mode"):
        m.decode(feats, lens, mode="wfst")


def test_decoder_score_hyps_matches_stepwise():
    m = _model()
    enc, enc_lens = m.encode(torch.randn(1, 40, 20), torch.tensor([40]))
    mask = torch.ones(1, 1, enc.size(1), dtype=torch.bool)
    hyps = [[1, 2, 3], [], [4]]
    batched = m.decoder.score_hyps(enc.expand(3, -1, -1), mask.expand(3, -1, -1), hyps, V - 1, V - 1)
    for h, s in zip(hyps, batched):
        ys = torch.tensor([[V - 1] + h])
        lp = m.decoder(enc, mask, ys, torch.tensor([len(h) + 1]))[0].log_softmax(-1)
        ref = sum(lp[j, t].item() for j, t in enumerate(h + [V - 1]))
        assert s.item() == pytest.approx(ref, abs=1e-4)


def test_chunked_encode_matches_chunk_by_chunk():
    m = _model(causal=True, use_dynamic_chunk=True, cnn_module_norm="layer_norm")
    torch.manual_seed(2)
    feats = torch.randn(1, 67, 20)
    lens = torch.tensor([67])
    for chunk, left in ((4, -1), (2, 1)):
        full, full_lens = m.encode(feats, lens, decoding_chunk_size=chunk,
                                   num_decoding_left_chunks=left)
        stream, stream_lens = m.encode(feats, lens, decoding_chunk_size=chunk,
                                       num_decoding_left_chunks=left, simulate_streaming=True)
        assert stream_lens.tolist() == full_lens.tolist()
        assert torch.allclose(full, stream, atol=1e-5), (full - stream).abs().max()
    unchunked, _ = m.encode(feats, lens)
    assert not torch.allclose(unchunked, full, atol=1e-3)  # the chunk mask does something


def _expected_params(f, d=256, h=4, ff=2048, n_enc=12, k=15, n_dec=6, v=4233):
    f2 = ((f - 1) // 2 - 1) // 2
    conv_sub = (9 * d + d) + (9 * d * d + d) + (d * f2 * d + d)
    ffn = 2 * d * ff + ff + d
    rel_mha = 4 * (d * d + d) + d * d + 2 * d
    conv_module = (d * 2 * d + 2 * d) + (d * k + d) + 2 * d + (d * d + d)
    block = 2 * ffn + rel_mha + conv_module + 5 * 2 * d
    encoder = conv_sub + n_enc * block + 2 * d
    dec_block = 2 * 4 * (d * d + d) + ffn + 3 * 2 * d
    decoder = v * d + n_dec * dec_block + 2 * d + (d * v + v)
    ctc = d * v + v
    return encoder, decoder, ctc


@pytest.mark.parametrize("input_dim", [80, 513])
def test_paper_size_parameter_count(input_dim):
    enc = dict(output_size=256, attention_heads=4, linear_units=2048, num_blocks=12,
               cnn_module_kernel=15)
    dec = dict(attention_heads=4, linear_units=2048, num_blocks=6)
    m = U2ASR(4233, input_dim, enc, dec)
    count = lambda mod: sum(p.numel() for p in mod.parameters())
    e, d, c = _expected_params(input_dim)
    print(f"U2ASR input {input_dim}: encoder {count(m.encoder):,} decoder {count(m.decoder):,} "
          f"ctc {count(m.ctc):,} total {count(m):,}")
    assert (count(m.encoder), count(m.decoder), count(m.ctc)) == (e, d, c)


def test_tiny_model_overfits_to_cer_zero():
    torch.manual_seed(0)
    m = U2ASR(V, 20, ENC, DEC, lsm_weight=0.0)
    utts = [[1, 2, 3], [4, 5, 6, 1], [2, 2, 6, 3, 5], [6, 5, 4, 3, 2, 1]]
    lengths = [40, 48, 56, 60]
    feats = torch.nn.utils.rnn.pad_sequence([torch.randn(t, 20) for t in lengths], batch_first=True)
    lens = torch.tensor(lengths)
    ys = torch.nn.utils.rnn.pad_sequence([torch.tensor(u) for u in utts], batch_first=True,
                                         padding_value=-1)
    ys_lens = torch.tensor([len(u) for u in utts])
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    start, err = time.time(), None
    for step in range(600):
        m.train()
        loss = m(feats, lens, ys, ys_lens)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 49:
            m.eval()
            hyps = m.decode(feats, lens, "attention_rescoring", beam_size=4)
            err = corpus_cer([(u, h.tokens) for u, h in zip(utts, hyps)])
            if err.errors == 0:
                break
    print(f"overfit: {step + 1} steps, loss {loss.item():.3f}, {time.time() - start:.1f} s")
    assert err is not None and err.cer == 0.0
    assert all(len(h.times) == len(h.tokens) for h in hyps)
