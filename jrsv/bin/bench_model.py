"""Forward/backward time and memory per second of audio, paper-size models, on this CPU.

Each measurement runs in a fresh subprocess so that peak memory (``ru_maxrss``) is its own.
The baseline is ``torch.nn.TransformerEncoder`` of the same width, depth and FFN size
(no convolution module, no relative positions), measured in the same run; the table shows
``ratio = ours / baseline``.

Model FLOP utilisation (MFU): the forward+backward FLOPs of one step (counted with
``torch.utils.flop_counter.FlopCounterMode``, CPU attention kernels included) divided by the
step time, over the FLOP/s of a plain ``torch.mm`` of the model's dominant matmul shape (its FFN
input layer: (B*T, D) x (D, FFN)) measured in the same process right after the model; with
``--peak-tflops`` also against a stated hardware peak (a GPU's bf16 dense peak).

GPU-ready: ``--device cuda --bf16 --batch-size N`` runs the same measurement under bf16 autocast
and reports peak GPU memory (``torch.cuda.max_memory_allocated``) and examples/s.

Usage: ``jrsv bench-model [--seconds 4] [--threads 2] [--repeats 3] [--tiny]
[--batch-size 1] [--device cpu] [--bf16] [--peak-tflops T]``
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from jrsv.constants import HOP_LENGTH as HOP
from jrsv.constants import NUM_BINS
from jrsv.constants import SAMPLE_RATE as SR


MTASS_SIZES = {"paper": dict(d=256, h=8, ff=1024, n=16, k=33), "tiny": dict(d=64, h=4, ff=256, n=2, k=15)}
ASR_SIZES = {"paper": dict(d=256, h=4, ff=2048, n=12, k=15, dn=6),
             "tiny": dict(d=64, h=4, ff=256, n=2, k=15, dn=1)}


def _frames(seconds: float) -> int:
    return int(seconds * SR) // HOP + 1


def dominant_shape(name: str, tiny: bool, seconds: float, batch: int) -> tuple[int, int, int]:
    """(M, K, N) of the model's FFN input matmul: M = frames in the batch after subsampling."""
    size = "tiny" if tiny else "paper"
    if name in ("mtass", "ref_mtass"):
        c = MTASS_SIZES[size]
        return batch * _frames(seconds), c["d"], c["ff"]
    c = ASR_SIZES[size]
    if name == "jrsv":  # the ASR runs on both separated tracks
        return 2 * batch * (_frames(seconds) // 4), c["d"], c["ff"]
    return batch * ((int(seconds * 100) - 2) // 4), c["d"], c["ff"]


def mm_flops_per_s(m: int, k: int, n: int, device: str = "cpu", dtype=None,
                   min_time: float = 0.5) -> float:
    """FLOP/s of ``torch.mm`` (M, K) x (K, N) on ``device`` (best of repeated timings)."""
    import torch
    dtype = dtype or torch.float32
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    best, spent = float("inf"), 0.0
    for i in range(1000):
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        dt = time.perf_counter() - t0
        if i:  # the first call is warm-up
            best = min(best, dt)
        spent += dt
        if spent > min_time and i >= 3:
            break
    return 2.0 * m * k * n / best


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def step_flops(model, args, loss_fn) -> float:
    """Forward + backward FLOPs of one training step (matmuls, convolutions, attention)."""
    import torch
    from torch.utils.flop_counter import (FlopCounterMode, sdpa_backward_flop_count,
                                          sdpa_flop_count)
    aten = torch.ops.aten

    def fwd(q, k, v, *a, out_shape=None, **kw):
        return sdpa_flop_count(q, k, v)

    def bwd(grad_out, q, k, v, *a, out_shape=None, **kw):
        return sdpa_backward_flop_count(grad_out, q, k, v)

    custom = {aten._scaled_dot_product_flash_attention_for_cpu: fwd,
              aten._scaled_dot_product_flash_attention_for_cpu_backward: bwd}
    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False, custom_mapping=custom) as fc:
        loss_fn(model(*args)).backward()
    model.zero_grad(set_to_none=True)
    return float(fc.get_total_flops())


def _mtass_config(c: dict) -> dict:
    """MTASS_SIZES entry -> the mtass model config (no CMVN: the sizes are what is measured)."""
    return dict(kind="mtass", input_dim=NUM_BINS, output_size=c["d"], attention_heads=c["h"],
                linear_units=c["ff"], num_blocks=c["n"], cnn_module_kernel=c["k"], cmvn=False)


def _build(name: str, tiny: bool):
    """Return (module, make_inputs(seconds) -> args, loss_fn(output) -> scalar, baseline_name)."""
    import torch

    from jrsv.model_registry import build_model

    def paper_or_tiny(paper: dict, small: dict) -> dict:
        return small if tiny else paper

    if name in ("mtass", "ref_mtass"):
        c = paper_or_tiny(MTASS_SIZES["paper"], MTASS_SIZES["tiny"])
        if name == "mtass":
            m = build_model(_mtass_config(c))

            def inputs(sec):
                t = _frames(sec)
                return (torch.rand(1, t, 513), torch.tensor([t]))

            return m, inputs, lambda out: sum(v.sum() for v in out.values())
        return _reference(c, 513, 1), None, None
    if name in ("asr", "ref_asr", "jrsv"):
        c = paper_or_tiny(ASR_SIZES["paper"], ASR_SIZES["tiny"])
        if name == "ref_asr":
            return _reference(c, 80, 4), None, None
        enc = dict(output_size=c["d"], attention_heads=c["h"], linear_units=c["ff"],
                   num_blocks=c["n"], cnn_module_kernel=c["k"])
        dec = dict(attention_heads=c["h"], linear_units=c["ff"], num_blocks=c["dn"])
        vocab = 4233  # AISHELL-1 character units
        asr_conf = dict(vocab_size=vocab, cmvn=False, encoder_conf=enc, decoder_conf=dec)
        if name == "asr":
            m = build_model(dict(asr_conf, kind="asr", feature="fbank"))

            def inputs(sec):
                t = int(sec * 100) - 2
                return (torch.randn(1, t, 80), torch.tensor([t]),
                        torch.randint(1, vocab - 1, (1, int(sec * 4))), torch.tensor([int(sec * 4)]))

            return m, inputs, lambda out: out["loss"]
        cs = paper_or_tiny(MTASS_SIZES["paper"], MTASS_SIZES["tiny"])
        m = build_model(dict(asr_conf, kind="jrsv", mode="fd", feature="log_mag",
                             mtass=_mtass_config(cs)))

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


def _batched(x, batch: int, device: str):
    """Repeat batch-1 example tensors (and dicts of them) to ``batch`` rows on ``device``."""
    import torch
    if isinstance(x, dict):
        return {k: _batched(v, batch, device) for k, v in x.items()}
    if isinstance(x, torch.Tensor):
        return x.repeat(batch, *[1] * (x.dim() - 1)).to(device, non_blocking=True)
    return x


def _measure(name: str, seconds: float, threads: int, repeats: int, tiny: bool, batch: int = 1,
             device: str = "cpu", bf16: bool = False) -> dict:
    """Run in this (fresh) process: returns timings, memory and MFU for one model."""
    import contextlib

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
    model.to(device)
    args = tuple(_batched(a, batch, device) for a in inputs(seconds))
    cuda = str(device).startswith("cuda")

    def autocast():
        if not bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16)

    model.train()
    with autocast():
        flops = step_flops(model, args, loss_fn)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fwd, bwd = [], []
    for i in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        _sync(device)
        t0 = time.perf_counter()
        with autocast():
            loss = loss_fn(model(*args))
        _sync(device)
        t1 = time.perf_counter()
        loss.backward()
        _sync(device)
        t2 = time.perf_counter()
        if i:  # first iteration is warm-up
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = (torch.cuda.max_memory_allocated(device) / 2 ** 20 if cuda
               else max(peak - base_rss, 0) / 1024)
    with torch.no_grad(), autocast():
        model.eval()
        _sync(device)
        t0 = time.perf_counter()
        model(*args)
        _sync(device)
        infer = time.perf_counter() - t0
    step = min(fwd) + min(bwd)
    m, k, n = dominant_shape(name, tiny, seconds, batch)
    mm = mm_flops_per_s(m, k, n, device, torch.bfloat16 if bf16 else torch.float32)
    audio = seconds * batch
    return {"model": name, "params_M": params / 1e6, "fwd_s_per_audio_s": min(fwd) / audio,
            "bwd_s_per_audio_s": min(bwd) / audio, "infer_s_per_audio_s": infer / audio,
            "train_mem_MB_per_audio_s": peak_mb / audio, "peak_mem_MB": peak_mb,
            "step_s": step, "examples_per_s": batch / step, "step_GFLOP": flops / 1e9,
            "achieved_GFLOP_s": flops / step / 1e9, "mm_shape": [m, k, n],
            "mm_GFLOP_s": mm / 1e9, "mfu_vs_mm": flops / step / mm}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0, help="audio length per example")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (smoke run)")
    ap.add_argument("--models", default="ref_mtass,mtass,ref_asr,asr,jrsv")
    ap.add_argument("--batch-size", type=int, default=1, help="examples per step")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU runs)")
    ap.add_argument("--peak-tflops", type=float, default=0.0,
                    help="hardware peak (e.g. a GPU's bf16 dense TFLOP/s): adds MFU vs peak")
    ap.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._worker:
        print(json.dumps(_measure(a._worker, a.seconds, a.threads, a.repeats, a.tiny,
                                  a.batch_size, a.device, a.bf16)))
        return 0
    rows = {}
    for name in a.models.split(","):
        cmd = [sys.executable, "-m", "jrsv.bin.bench_model", "--_worker", name,
               "--seconds", str(a.seconds), "--threads", str(a.threads), "--repeats", str(a.repeats),
               "--batch-size", str(a.batch_size), "--device", a.device]
        if a.bf16:
            cmd.append("--bf16")
        if a.tiny:
            cmd.append("--tiny")
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"error: benchmark of {name} failed:\n{out.stderr.strip().splitlines()[-1]}", file=sys.stderr)
            return 1
        rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
    tiny = a.tiny
    size = "tiny" if tiny else "paper"
    load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"
    print(f"# bench-model: {size} size, {a.seconds:g} s examples, batch {a.batch_size}, "
          f"{a.device}{' bf16 autocast' if a.bf16 else ''}, {a.threads} CPU threads, "
          f"torch {__import__('torch').__version__}, load average at end {load}")
    peak_col = " | MFU vs peak" if a.peak_tflops > 0 else ""
    print("| model | params (M) | fwd s/audio-s | bwd s/audio-s | infer s/audio-s | train mem MB/audio-s | "
          f"step s | examples/s | GFLOP/step | GFLOP/s | mm (M,K,N) GFLOP/s | MFU vs mm{peak_col} | "
          "fwd+bwd vs baseline |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if peak_col else "") + "---|")
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
        mm = "x".join(str(v) for v in r["mm_shape"])
        vs_peak = (f" | {r['achieved_GFLOP_s'] / (a.peak_tflops * 1e3):.1%}" if peak_col else "")
        print(f"| {name} | {r['params_M']:.2f} | {r['fwd_s_per_audio_s']:.3f} | {r['bwd_s_per_audio_s']:.3f} | "
              f"{r['infer_s_per_audio_s']:.3f} | {r['train_mem_MB_per_audio_s']:.0f} | "
              f"{r['step_s']:.3f} | {r['examples_per_s']:.2f} | {r['step_GFLOP']:.1f} | "
              f"{r['achieved_GFLOP_s']:.1f} | ({mm}) {r['mm_GFLOP_s']:.1f} | "
              f"**{r['mfu_vs_mm']:.1%}**{vs_peak} | {ratio} |")
    if tiny:
        print("baselines: nn.TransformerEncoder of the same width, depth and FFN as each tiny model")
    else:
        print("baselines: ref_mtass = nn.TransformerEncoder(d=256, 8 heads, FFN 1024, 16 layers) on "
              "513-dim frames; ref_asr = nn.TransformerEncoder(d=256, 4 heads, FFN 2048, 12 layers) "
              "on 80-dim fbank subsampled x4 (no convolution module, no relative positions, no decoder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
