"""MLE training speed of the paper-preset Transformer-XL: forward + backward + Adam, memory full.

    python benchmarks/train_step.py [--device cpu|cuda] [--batch 8] [--steps 5] [--bf16]

Segments of tgt_len 128 with mem_len 1024; the memory is first filled (8 segments), then --steps steps
are timed (best and mean). On CUDA, --bf16 runs the forward under bf16 autocast.
"""
import argparse, statistics, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table
from music_gan.config import preset
from music_gan.generator import TransformerXL


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--bf16', action='store_true')
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    cfg = preset('paper').generator
    torch.manual_seed(0)
    model = TransformerXL(cfg).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    mems = None

    def step():
        nonlocal mems
        x = torch.randint(2, cfg.vocab_size, (a.batch, cfg.tgt_len + 1), device=dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            logits, mems = model(x[:, :-1], mems)
        loss = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten(), ignore_index=cfg.pad_id)
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sync()

    for _ in range(cfg.mem_len // cfg.tgt_len): step()                     # fill the memory
    assert mems.length == cfg.mem_len
    times = []
    for _ in range(a.steps):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    tokens = a.batch * cfg.tgt_len
    rows = [[a.batch, cfg.tgt_len, cfg.mem_len, 'bf16 autocast' if a.bf16 else 'float32', f"{min(times):.3f}",
             f"{statistics.mean(times):.3f}", f"{tokens / min(times):,.0f}", f"{tokens / statistics.mean(times):,.0f}"]]
    print(f"MLE train step, paper preset (13.7M parameters), on {a.device} ({machine()}"
          f"{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}); {a.steps} timed steps after filling the memory\n")
    print(table(['batch', 'tgt_len', 'mem_len', 'precision', 'best s/step', 'mean s/step', 'best tok/s', 'mean tok/s'], rows))


if __name__ == '__main__':
    main()
