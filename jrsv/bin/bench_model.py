"""Forward/backward time and memory per second of audio, paper-size models, on this CPU.

Each measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) is its own.
The baseline is ``torch.nn.TransformerEncoder`` of the same width, depth and FFN size
(no convolution module, no relative positions), measured in the same run; the table shows
``ratio = ours / baseline``.

Usage: ``python -m jrsv.bin.bench_model [--seconds 4] [--threads 2] [--repeats 3] [--tiny]``
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from jrsv.constants import HOP_LENGTH as HOP
from jrsv.constants import SAMPLE_RATE as SR


def _frames(seconds: float) -> int:
    return int(seconds * SR) // HOP + 1


def _build(name: str, tiny: bool):
    """Return (module, make_inputs(seconds) -> args, loss_fn(output) -> scalar, baseline_name)."""
    import torch
    from torch import nn

    def paper_or_tiny(paper: dict, small: dict) -> dict:
        return small if tiny else paper

    if name in ("mtass", "ref_mtass"):
        c = paper_or_tiny(dict(d=256, h=8, ff=1024, n=16, k=33), dict(d=64, h=4, ff=256, n=2, k=15))
        if name == "mtass":
            from jrsv.separation.model import MTASS
            m = MTASS(input_dim=513, output_size=c["d"], attention_heads=c["h"],
                      linear_units=c["ff"], num_blocks=c["n"], cnn_module_kernel=c["k"])

            def inputs(sec):
                t = _frames(sec)
                return (torch.rand(1, t, 513), torch.tensor([t]))

            return m, inputs, lambda out: sum(v.sum() for v in out.values())
        return _reference(c, 513, 1), None, None
    if name in ("asr", "ref_asr", "jrsv"):
        c = paper_or_tiny(dict(d=256, h=4, ff=2048, n=12, k=15, dn=6),
                          dict(d=64, h=4, ff=256, n=2, k=15, dn=1))
        if name == "ref_asr":
            return _reference(c, 80, 4), None, None
        from jrsv.asr.model import U2ASR
        enc = dict(output_size=c["d"], attention_heads=c["h"], linear_units=c["ff"],
                   num_blocks=c["n"], cnn_module_kernel=c["k"])
        dec = dict(attention_heads=c["h"], linear_units=c["ff"], num_blocks=c["dn"])
        vocab = 4233  # AISHELL-1 character units
        if name == "asr":
            m = U2ASR(vocab_size=vocab, input_dim=80, encoder_conf=enc, decoder_conf=dec)

            def inputs(sec):
                t = int(sec * 100) - 2
                return (torch.randn(1, t, 80), torch.tensor([t]),
                        torch.randint(1, vocab - 1, (1, int(sec * 4))), torch.tensor([int(sec * 4)]))

            return m, inputs, lambda out: out["loss"]
        from jrsv.jrsv import JRSV
        from jrsv.separation.model import MTASS
        cs = paper_or_tiny(dict(d=256, h=8, ff=1024, n=16, k=33), dict(d=64, h=4, ff=256, n=2, k=15))
        mt = MTASS(input_dim=513, output_size=cs["d"], attention_heads=cs["h"],
                   linear_units=cs["ff"], num_blocks=cs["n"], cnn_module_kernel=cs["k"])
        asr = U2ASR(vocab_size=vocab, input_dim=513, encoder_conf=enc, decoder_conf=dec)
        m = JRSV(mt, asr, mode="fd")

        def inputs(sec):
            t, L = _frames(sec), int(sec * 4)
            toks = torch.randint(1, vocab - 1, (1, L))
            return ({"mix_mag": torch.rand(1, t, 513), "speech_mag": torch.rand(1, t, 513),
                     "singing_mag": torch.rand(1, t, 513), "lengths": torch.tensor([t]),
                     "speech_tokens": toks, "speech_token_lens": torch.tensor([L]),
                     "singing_tokens": toks.clone(), "singing_token_lens": torch.tensor([L])},)

        return m, inputs, lambda out: out["loss"]
    raise ValueError(f"unknown model {name!r}")


def _reference(c: dict, input_dim: int, subsample: int):
    """nn.TransformerEncoder of equal width/depth/FFN with a linear input layer."""
    import torch
    from torch import nn

    class Ref(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(input_dim, c["d"])
            layer = nn.TransformerEncoderLayer(c["d"], c["h"], c["ff"], 0.1, batch_first=True,
                                               norm_first=True)
            self.enc = nn.TransformerEncoder(layer, c["n"], enable_nested_tensor=False)

        def forward(self, x):
            return self.enc(self.inp(x[:, ::subsample]))

    return Ref()


def _measure(name: str, seconds: float, threads: int, repeats: int, tiny: bool) -> dict:
    """Run in this (fresh) process: returns timings and memory for one model."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, inputs, loss_fn = _build(name, tiny)
    if inputs is None:  # reference encoders
        feat_dim = 513 if name == "ref_mtass" else 80
        frames = _frames(seconds) if name == "ref_mtass" else int(seconds * 100) - 2

        def inputs(sec, frames=frames, feat_dim=feat_dim):
            return (torch.randn(1, frames, feat_dim),)

        def loss_fn(out):
            return out.sum()
    params = sum(p.numel() for p in model.parameters())
    args = inputs(seconds)
    model.train()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fwd, bwd = [], []
    for i in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        loss = loss_fn(model(*args))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if i:  # first iteration is warm-up
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        model.eval()
        t0 = time.perf_counter()
        model(*args)
        infer = time.perf_counter() - t0
    return {"model": name, "params_M": params / 1e6, "fwd_s_per_audio_s": min(fwd) / seconds,
            "bwd_s_per_audio_s": min(bwd) / seconds, "infer_s_per_audio_s": infer / seconds,
            "train_mem_MB_per_audio_s": max(peak - base_rss, 0) / 1024 / seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0, help="audio length per example")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (smoke run)")
    ap.add_argument("--models", default="ref_mtass,mtass,ref_asr,asr,jrsv")
    ap.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._worker:
        print(json.dumps(_measure(a._worker, a.seconds, a.threads, a.repeats, a.tiny)))
        return 0
    rows = {}
    for name in a.models.split(","):
        cmd = [sys.executable, "-m", "jrsv.bin.bench_model", "--_worker", name,
               "--seconds", str(a.seconds), "--threads", str(a.threads), "--repeats", str(a.repeats)]
        if a.tiny:
            cmd.append("--tiny")
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"error: benchmark of {name} failed:\n{out.stderr.strip().splitlines()[-1]}", file=sys.stderr)
            return 1
        rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
    tiny = a.tiny
    size = "tiny" if tiny else "paper"
    print(f"# bench-model: {size} size, {a.seconds:g} s examples, batch 1, {a.threads} CPU threads, "
          f"torch {__import__('torch').__version__}")
    print("| model | params (M) | fwd s/audio-s | bwd s/audio-s | infer s/audio-s | train mem MB/audio-s | "
          "fwd+bwd vs baseline |")
    print("|---|---|---|---|---|---|---|")
    def cost(names: list[str]) -> float | None:
        """fwd+bwd seconds per audio second of the named rows summed (None if one is missing)."""
        if not all(n in rows for n in names):
            return None
        return sum(rows[n]["fwd_s_per_audio_s"] + rows[n]["bwd_s_per_audio_s"] for n in names)

    # JRSV = separator + the shared ASR on two tracks: its baseline is the same composition
    baseline = {"mtass": ["ref_mtass"], "asr": ["ref_asr"],
                "jrsv": ["ref_mtass", "ref_asr", "ref_asr"]}
    for name, r in rows.items():
        ratio = ""
        ref = cost(baseline.get(name, ["?"]))
        if ref:
            ratio = f"{cost([name]) / ref:.2f}x {'+'.join(baseline[name])}"
        print(f"| {name} | {r['params_M']:.2f} | {r['fwd_s_per_audio_s']:.3f} | {r['bwd_s_per_audio_s']:.3f} | "
              f"{r['infer_s_per_audio_s']:.3f} | {r['train_mem_MB_per_audio_s']:.0f} | {ratio} |")
    if tiny:
        print("baselines: nn.TransformerEncoder of the same width, depth and FFN as each tiny model")
    else:
        print("baselines: ref_mtass = nn.TransformerEncoder(d=256, 8 heads, FFN 1024, 16 layers) on "
              "513-dim frames; ref_asr = nn.TransformerEncoder(d=256, 4 heads, FFN 2048, 12 layers) "
              "on 80-dim fbank subsampled x4 (no convolution module, no relative positions, no decoder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
