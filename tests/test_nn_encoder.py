import pytest
import torch

from jrsv.nn.conformer import ConformerBlock
from jrsv.nn.encoder import ConformerEncoder


def _tiny(**kw):
    conf = dict(input_size=20, output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
                cnn_module_kernel=5, dropout_rate=0.0, positional_dropout_rate=0.0)
    conf.update(kw)
    return ConformerEncoder(**conf).eval()


@pytest.mark.parametrize("input_layer", ["conv2d", "linear"])
def test_padding_does_not_change_valid_outputs(input_layer):
    enc = _tiny(input_layer=input_layer)
    a, b = torch.randn(1, 40, 20), torch.randn(1, 27, 20)
    batch = torch.zeros(2, 40, 20)
    batch[0], batch[1, :27] = a[0], b[0]
    ys, masks = enc(batch, torch.tensor([40, 27]))
    ya, _ = enc(a, torch.tensor([40]))
    yb, mb = enc(b, torch.tensor([27]))
    assert torch.allclose(ys[0], ya[0], atol=1e-4)
    n = int(mb.sum())
    assert int(masks[1].sum()) == n
    assert torch.allclose(ys[1, :n], yb[0, :n], atol=1e-4)


def test_subsampling_lengths():
    enc = _tiny()
    ys, masks = enc(torch.randn(3, 50, 20), torch.tensor([50, 30, 7]))
    assert ys.shape == (3, 11, 32)
    assert masks.sum(-1).squeeze(1).tolist() == [11, 6, 1]


def test_subsampling_channels_sets_conv_width_only():
    enc = _tiny(subsampling_channels=8)
    assert enc.embed.conv[2].weight.shape == (8, 8, 3, 3)
    assert enc.embed.out[0].weight.shape == (32, 8 * 4)  # F 20 -> 4 bins after two convs
    ys, masks = enc(torch.randn(2, 50, 20), torch.tensor([50, 30]))
    assert ys.shape == (2, 11, 32) and masks.sum(-1).squeeze(1).tolist() == [11, 6]
    assert _tiny().embed.conv[2].weight.shape == (32, 32, 3, 3)  # default: WeNet's width


def test_chunk_by_chunk_equals_masked_full_forward():
    """With causal convolutions, streaming with caches equals the chunk-masked full pass."""
    enc = _tiny(causal=True, use_dynamic_chunk=True)
    x = torch.randn(1, 67, 20)
    for chunk, left in [(4, -1), (3, 2)]:
        full, _ = enc(x, torch.tensor([67]), decoding_chunk_size=chunk,
                      num_decoding_left_chunks=left)
        stream, _ = enc.forward_chunk_by_chunk(x, chunk, left)
        assert stream.shape == full.shape
        assert torch.allclose(stream, full, atol=1e-4), (chunk, left)


def test_block_wenet_parameter_names():
    names = set(n for n, _ in ConformerBlock(32, 4, 64, 5).named_parameters())
    for n in ["self_attn.linear_q.weight", "self_attn.linear_pos.weight", "self_attn.pos_bias_u",
              "feed_forward.w_1.weight", "feed_forward_macaron.w_2.bias",
              "conv_module.pointwise_conv1.weight", "conv_module.depthwise_conv.weight",
              "conv_module.norm.weight", "norm_ff.weight", "norm_mha.weight",
              "norm_ff_macaron.weight", "norm_conv.weight", "norm_final.weight"]:
        assert n in names, n


def test_gradient_checkpointing_same_gradients():
    torch.manual_seed(0)
    a = _tiny(gradient_checkpointing=False).train()
    b = _tiny(gradient_checkpointing=True).train()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 30, 20)
    lens = torch.tensor([30, 22])
    a(x, lens)[0].sum().backward()
    b(x, lens)[0].sum().backward()
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-4), n
