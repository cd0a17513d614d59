"""Relative attention: naive reference vs the fast forms, forward + backward, at the paper's shapes.

    python benchmarks/attention.py [--device cpu|cuda] [--repeat 3] [--dtype float32|bfloat16]

One Transformer-XL attention block (07_attention.RelMultiHeadAttn) on a segment of B x tgt_len tokens
attending to [memory; segment], paper shapes by default: B 8, tgt_len 128, mem_len 1024, d_model 500,
10 heads. 'naive' gathers a (tgt_len, mem_len + tgt_len, heads, d_head) tensor of position encodings;
'matmul' uses two matrix products and rel_shift; 'sdpa' gives the position term to
scaled_dot_product_attention as an additive bias. Target: fast >= 3x naive on CPU.
"""
import argparse, statistics, sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table
from music_gan.attention import PositionalEmbedding, RelMultiHeadAttn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    ap.add_argument('--repeat', type=int, default=7)
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

    def step(impl):
        block.impl = impl
        block(h, pos, u, w, mem).float().square().mean().backward()
        sync()

    impls = ('naive', 'matmul', 'sdpa')
    times, peaks = {i: [] for i in impls}, {}
    for impl in impls: step(impl)                                    # warm-up
    for _ in range(a.repeat):                                        # interleaved, so a slow spell hits all alike
        for impl in impls:
            if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
            times[impl].append(best_of(lambda: step(impl), 1))
            peaks[impl] = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else float('nan')
    med = {i: statistics.median(t) for i, t in times.items()}
    rows = [[impl, f"{min(times[impl]) * 1000:.1f}", f"{med[impl] * 1000:.1f}", f"{med['naive'] / med[impl]:.2f}x",
             f"{peaks[impl]:.0f}" if peaks[impl] == peaks[impl] else '-'] for impl in impls]
    print(f"relative attention block, forward + backward, B {a.batch}, tgt_len {a.tgt_len}, mem_len {a.mem_len}, "
          f"d_model {a.d_model}, {a.n_head} heads, {a.dtype} on {a.device} ({machine()}"
          f"{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}); {a.repeat} interleaved rounds\n")
    print(table(['impl', 'best ms', 'median ms', 'speed-up vs naive (medians)', 'peak MiB (cuda)'], rows))


if __name__ == '__main__':
    main()
