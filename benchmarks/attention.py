"""Relative attention: naive reference vs the fast forms, forward + backward, at the paper's shapes.

    python benchmarks/attention.py [--device cpu|cuda] [--repeat 3] [--dtype float32|bfloat16]

One Transformer-XL attention block (03_attention.RelMultiHeadAttn) on a segment of B x tgt_len tokens
attending to [memory; segment], paper shapes by default: B 8, tgt_len 128, mem_len 1024, d_model 500,
10 heads. 'naive' gathers a (tgt_len, mem_len + tgt_len, heads, d_head) tensor of position encodings;
'matmul' uses two matrix products and rel_shift; 'sdpa' gives the position term to
scaled_dot_product_attention as an additive bias. Target: fast >= 3x naive on CPU.
"""
import argparse, sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table
from music_gan.attention import PositionalEmbedding, RelMultiHeadAttn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--tgt-len', type=int, default=128)
    ap.add_argument('--mem-len', type=int, default=1024)
    ap.add_argument('--d-model', type=int, default=500)
    ap.add_argument('--n-head', type=int, default=10)
    a = ap.parse_args()
    dev, dtype = torch.device(a.device), getattr(torch, a.dtype)
    torch.manual_seed(0)
    block = RelMultiHeadAttn(a.d_model, a.n_head).to(dev, dtype)
    h = torch.randn(a.batch, a.tgt_len, a.d_model, device=dev, dtype=dtype, requires_grad=True)
    mem = torch.randn(a.batch, a.mem_len, a.d_model, device=dev, dtype=dtype)
    pos = PositionalEmbedding(a.d_model).to(dev)(a.mem_len + a.tgt_len, dtype=dtype)
    u = torch.randn(a.n_head, a.d_model // a.n_head, device=dev, dtype=dtype, requires_grad=True)
    w = torch.randn(a.n_head, a.d_model // a.n_head, device=dev, dtype=dtype, requires_grad=True)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)

    def run(impl):
        def step():
            block.impl = impl
            block(h, pos, u, w, mem).float().square().mean().backward()
            sync()
        step()                                           # warm-up
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
        t = best_of(step, a.repeat)
        peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else float('nan')
        return t, peak

    results = {impl: run(impl) for impl in ('naive', 'matmul', 'sdpa')}
    rows = [[impl, f"{t * 1000:.1f}", f"{results['naive'][0] / t:.2f}x", f"{peak:.0f}" if peak == peak else '-']
            for impl, (t, peak) in results.items()]
    print(f"relative attention block, forward + backward, B {a.batch}, tgt_len {a.tgt_len}, mem_len {a.mem_len}, "
          f"d_model {a.d_model}, {a.n_head} heads, {a.dtype} on {a.device} ({machine()}"
          f"{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}); best of {a.repeat}\n")
    print(table(['impl', 'ms', 'speed-up vs naive', 'peak MiB (cuda)'], rows))


if __name__ == '__main__':
    main()
