"""Cached generation vs re-running the prefix, paper preset, batch 1 and 8.

    python benchmarks/generate.py [--device cpu|cuda] [--lengths 256 1024 2048] [--batches 1 8] [--rerun-full-max 256]

Cached: TransformerXL.generate (keys/values of earlier positions kept; memory as long as the piece, the
paper's setting), timed for real. Re-run: one full forward over the whole prefix per new token. Re-running
is quadratic, so beyond --rerun-full-max new tokens it is not run to the end: the time of single re-run
steps is measured at several prefix lengths and summed over all steps by linear interpolation (the table
says 'estimated'). Targets: cached >= 20x re-run at 1024 tokens; 2048 tokens cost <= 2.5x 1024.
"""
import argparse, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table
from music_gan.config import preset
from music_gan.generator import Sampler, TransformerXL


def timed(fn, sync):
    t = time.perf_counter(); out = fn(); sync(); return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--lengths', type=int, nargs='+', default=[256, 1024, 2048])
    ap.add_argument('--batches', type=int, nargs='+', default=[1, 8])
    ap.add_argument('--prime', type=int, default=16)
    ap.add_argument('--rerun-full-max', type=int, default=256, help='run the re-run baseline to the end up to this many tokens')
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.manual_seed(0)
    model = TransformerXL(preset('paper').generator).to(dev).eval()
    sampler = Sampler(top_k=32, temperature=0.95)
    rows = []
    with torch.no_grad():
        for B in a.batches:
            prime = torch.randint(2, 310, (B, a.prime), device=dev)
            model.generate(prime, 8, sampler, seed=0)                                    # warm-up
            # re-run baseline: time one step at sample prefix lengths
            probe = sorted({a.prime, *[a.prime + n // 2 for n in a.lengths], *[a.prime + n - 1 for n in a.lengths]})
            step_time = {}
            for t in probe:
                seq = torch.randint(2, 310, (B, t), device=dev)
                model(seq, mem_len=0); sync()
                step_time[t] = min(timed(lambda: sampler(model(seq, mem_len=0)[0][:, -1]), sync)[0] for _ in range(2))
            ts, st = np.array(sorted(step_time)), np.array([step_time[t] for t in sorted(step_time)])
            cached = {}
            for n in a.lengths:
                cached[n], _ = timed(lambda: model.generate(prime, n, sampler, seed=0), sync)
                if n <= a.rerun_full_max:
                    def rerun():
                        seq = prime
                        for _ in range(n): seq = torch.cat([seq, sampler(model(seq, mem_len=0)[0][:, -1])[:, None]], 1)
                    rerun_s, how = timed(rerun, sync)[0], 'measured'
                else:
                    rerun_s, how = float(np.interp(np.arange(a.prime, a.prime + n), ts, st).sum()), 'estimated'
                rows.append([B, n, f"{cached[n]:.2f}", f"{B * n / cached[n]:,.0f}", f"{rerun_s:.1f} ({how})",
                             f"{B * n / rerun_s:,.0f}", f"{rerun_s / cached[n]:.0f}x",
                             f"{cached[n] / cached[n // 2]:.2f}" if n // 2 in cached else '-'])
    print(f"generation, paper preset (13.7M parameters), prime {a.prime} tokens, top-k 32, on {a.device} ({machine()}"
          f"{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}); one timed run each\n")
    print(table(['batch', 'new tokens', 'cached s', 'cached tok/s', 're-run s', 're-run tok/s', 'speed-up',
                 'time / time at half the length'], rows))


if __name__ == '__main__':
    main()
