"""MLE training speed of the paper-preset Transformer-XL: forward + backward + clipping + Adam, memory full.

    python benchmarks/train_step.py [--device cpu|cuda] [--batch 8] [--steps 7] [--variants fp32 bf16 ...]
                                    [--impl auto|strided|sdpa|matmul] [--fused] [--preset paper|tiny]

Segments of tgt_len 128 with a full memory of mem_len 1024 (filled with random hidden states: what the memory holds does
not change the work), the same token batch every step. Variants: 'fp32'; 'bf16' (bf16 autocast around the forward);
'compile' and 'bf16+compile' (`torch.compile` of the model, default backend). The variants are built in one process and
their steps ALTERNATE, so a machine shared with other work slows them alike: compare the ratios, not the absolute
figures. Reports the median and best step of --steps timed steps (after --warmup steps per variant), tokens/s, and on
CUDA the peak memory and MFU (model FLOPs per token from `train_flops_per_token`, over --peak-tflops).

`build_train_step` and `train_flops_per_token` are also used by benchmarks/gpu_check.py.
"""
import argparse, os, statistics, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _common import machine, table
from music_gan.config import GeneratorConfig, preset
from music_gan.generator import Memory, TransformerXL

VARIANTS = {'fp32': (False, False), 'bf16': (True, False), 'compile': (False, True), 'bf16+compile': (True, True)}


def train_flops_per_token(g: GeneratorConfig, mem_len: int | None = None) -> dict:
    """Model FLOPs per trained token of one MLE step of the Transformer-XL `g` (a multiply-add is 2 FLOPs).

    Per layer, per token of the segment (T = tgt_len, M = mem_len, K = M + T keys, D = d_model, F = d_inner):
      token    2·(4·D² + 2·D·F)  the token's own q, k, v and output projections and the feed-forward block
      memory   2·2·D²·M/T        the memory's keys and values, projected again every segment (amortised per token)
      position 2·D²·K/T          the projection of the K position encodings (r_net), once per segment
      attention 2·3·K·D          content logits, position logits over all K listed distances, probabilities × values
                                 (the whole rectangle: the causal half above the diagonal is computed too)
    and once per token the tied output layer, 2·D·V. Training = forward + backward; backward costs 2× the forward for
    token, attention and output, but 1× for memory and position (their inputs are detached/constant: only the weight
    gradient). So: 3·(token + attention)·L + 3·output + 2·(memory + position)·L. Embedding look-ups, norms,
    softmax, dropout and the optimiser are not counted (as in the usual 6·N convention; 6·N for the matrices alone
    would be 6·(L·(4D² + 2DF) + DV)).
    """
    D, F_, L, V, T = g.d_model, g.d_inner, g.n_layer, g.vocab_size, g.tgt_len
    M = g.mem_len if mem_len is None else mem_len
    K = M + T
    parts = {'token': 2 * (4 * D * D + 2 * D * F_), 'memory': 2 * 2 * D * D * M / T, 'position': 2 * D * D * K / T,
             'attention': 2 * 3 * K * D}
    fwd = {k: v * L for k, v in parts.items()} | {'output': 2 * D * V}
    train = 3 * (fwd['token'] + fwd['attention'] + fwd['output']) + 2 * (fwd['memory'] + fwd['position'])
    return {'forward': fwd, 'train': train}


def build_train_step(g: GeneratorConfig, batch: int, device, *, bf16: bool = False, compile: bool = False,
                     backend: str = 'inductor', impl: str = 'auto', fused: bool | None = None, clip: float = 1.0, seed: int = 0):
    """`(model, step)`: `step()` runs one MLE step (forward under bf16 autocast if `bf16`, cross-entropy, backward, clipping,
    Adam) on a fixed batch with the memory full, and returns the loss as a tensor (no host-device synchronisation).
    `fused`: Adam's fused kernel (default: on CUDA)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    model = TransformerXL(g, impl=impl).to(device).train()
    net = torch.compile(model, backend=backend) if compile else model
    fused = device.type == 'cuda' if fused is None else fused
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused or None)
    gen = torch.Generator(device).manual_seed(seed)
    x = torch.randint(2, g.vocab_size, (batch, g.tgt_len + 1), device=device, generator=gen)
    # a full memory laid out as Memory.extend leaves it (the last mem_len of mem_len + tgt_len rows), so that a compiled
    # model sees the same strides from the first step on and compiles once
    hids = [torch.randn(batch, g.mem_len + g.tgt_len, g.d_model, device=device, generator=gen)[:, -g.mem_len:] for _ in range(g.n_layer)]
    valid = torch.ones(batch, g.mem_len + g.tgt_len, dtype=torch.bool, device=device)[:, -g.mem_len:]
    mems = Memory(hids, valid) if g.mem_len else None
    state = {'mems': mems}

    def step() -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits, state['mems'] = net(x[:, :-1], state['mems'])
        loss = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.detach()
    return model, step


def sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--preset', default='paper', choices=['paper', 'tiny'])
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--steps', type=int, default=7, help='timed steps per variant (median and best reported)')
    ap.add_argument('--warmup', type=int, default=2, help='untimed steps per variant first (compilation happens there)')
    ap.add_argument('--variants', nargs='+', default=['fp32'], choices=list(VARIANTS))
    ap.add_argument('--impl', default='auto', help="attention implementation (music_gan.attention.rel_attention's impl)")
    ap.add_argument('--fused', action='store_true', help="Adam's fused kernel (default: only on CUDA)")
    ap.add_argument('--peak-tflops', type=float, default=None, help='dense bf16 peak of the device for MFU (CUDA default 989)')
    a = ap.parse_args()
    dev = torch.device(a.device)
    g = preset(a.preset).generator
    steps = {v: build_train_step(g, a.batch, dev, bf16=VARIANTS[v][0], compile=VARIANTS[v][1], impl=a.impl,
                                 fused=True if a.fused else None)[1] for v in a.variants}
    load0 = os.getloadavg()[0]
    for v in a.variants:
        for _ in range(a.warmup): steps[v]()
    sync(dev)
    times = {v: [] for v in a.variants}
    for _ in range(a.steps):
        for v in a.variants:
            t = time.perf_counter(); steps[v](); sync(dev); times[v].append(time.perf_counter() - t)
    tokens = a.batch * g.tgt_len
    flops = train_flops_per_token(g)['train']
    peak = a.peak_tflops or (989.0 if dev.type == 'cuda' else None)
    base = statistics.median(times[a.variants[0]])
    rows = []
    for v in a.variants:
        med = statistics.median(times[v])
        mfu = f"{100 * tokens / med * flops / (peak * 1e12):.1f}%" if peak else '-'
        rows.append([v, a.batch, g.tgt_len, g.mem_len, f"{med:.3f}", f"{min(times[v]):.3f}", f"{tokens / med:,.0f}",
                     f"{base / med:.2f}x", mfu])
    print(f"MLE train step, {a.preset} preset, impl {a.impl}, Adam {'fused' if a.fused or dev.type == 'cuda' else 'default'}, "
          f"on {a.device} ({machine()}{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}, torch {torch.__version__}); "
          f"{a.steps} timed steps per variant after {a.warmup}, variants alternating; "
          f"1-min load average before / after: {load0:.2f} / {os.getloadavg()[0]:.2f}; "
          f"model FLOPs per token {flops / 1e6:.1f} M\n")
    print(table(['variant', 'batch', 'tgt_len', 'mem_len', 'median s/step', 'best s/step', 'median tok/s',
                 f'speed vs {a.variants[0]}', 'MFU'], rows))


if __name__ == '__main__':
    main()
