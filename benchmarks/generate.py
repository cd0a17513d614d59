"""Cached generation vs re-running the prefix, paper preset, batch 1 and 8; and the cost of the event grammar.

    python benchmarks/generate.py [--device cpu|cuda] [--lengths 256 1024 2048] [--batches 1 8] [--rerun-full-max 256]
    python benchmarks/generate.py --grammar [--presets tiny paper] [--batches 1 8] [--tokens 512] [--repeat 3]

--grammar: tokens/s of `generate` with the performance-event grammar off (`Sampler(grammar=False)`, the paper's raw
sampling) and on (the default), untrained models of each preset, prime `<start>`, top-k 32; best of --repeat runs,
off and on interleaved so that other work on the machine disturbs both alike.

Cached: TransformerXL.generate (= sampling.generate_tokens; keys/values of earlier positions kept; here with a memory as long as the piece,
the paper's setting, and the grammar off, the paper's raw sampling), timed for real. Re-run: one full forward over the whole prefix per new token. Re-running
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
from music_gan.events import EventCodec
from music_gan.generator import TransformerXL
from music_gan.sampling import Grammar, Sampler


def timed(fn, sync):
    t = time.perf_counter(); out = fn(); sync(); return time.perf_counter() - t, out


def grammar_cost(a, dev, sync):
    "Table: tokens/s with the grammar off and on, per preset and batch."
    rows = []
    for name in a.presets:
        torch.manual_seed(0)
        model = TransformerXL(preset(name).generator).to(dev).eval()
        for B in a.batches:
            prime = torch.ones(B, 1, dtype=torch.long, device=dev)                      # <start>
            best = {}
            for grammar in (False, True): model.generate(prime, 8, Sampler(top_k=32, grammar=grammar), seed=0)   # warm-up
            for _ in range(a.repeat):
                for grammar in (False, True):
                    s = timed(lambda: model.generate(prime, a.tokens, Sampler(top_k=32, temperature=0.95, grammar=grammar), seed=0), sync)[0]
                    best[grammar] = min(best.get(grammar, float('inf')), s)
            off, on = B * a.tokens / best[False], B * a.tokens / best[True]
            rows.append([name, B, a.tokens, f"{off:,.0f}", f"{on:,.0f}", f"{(best[True] - best[False]) / (B * a.tokens) * 1e6 * B:.0f}",
                         f"{on / off:.2f}"])
    print(f"the event grammar's cost: generate, untrained models, top-k 32, on {a.device} ({machine()}"
          f"{', ' + torch.cuda.get_device_name() if dev.type == 'cuda' else ''}); best of {a.repeat} interleaved runs\n")
    print(table(['preset', 'batch', 'new tokens', 'tok/s grammar off', 'tok/s grammar on', 'µs added per step', 'on / off'], rows))
    # the grammar alone (no model): constrain + sample + feed per step, random logits
    codec, alone = EventCodec(), []
    for B in a.batches:
        logits = torch.randn(a.tokens, B, codec.vocab_size, generator=torch.Generator().manual_seed(0)).to(dev)
        sampler = Sampler(top_k=32, temperature=0.95)
        def run(grammar):
            g = Grammar(codec, B, device=dev) if grammar else None
            for t in range(a.tokens):
                lg = g.constrain(logits[t]) if grammar else logits[t]
                tok = sampler(lg)
                if grammar: g.feed(tok)
            sync()
        best = {gr: min(timed(lambda: run(gr), sync)[0] for _ in range(a.repeat)) for gr in (False, True)}
        alone.append([B, a.tokens, f"{best[False] / a.tokens * 1e6:.0f}", f"{best[True] / a.tokens * 1e6:.0f}",
                      f"{(best[True] - best[False]) / a.tokens * 1e6:.0f}"])
    print(f"\nthe grammar alone, random logits (best of {a.repeat})\n")
    print(table(['batch', 'steps', 'µs/step sampling only', 'µs/step grammar + sampling', 'µs the grammar adds'], alone))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--lengths', type=int, nargs='+', default=[256, 1024, 2048])
    ap.add_argument('--batches', type=int, nargs='+', default=[1, 8])
    ap.add_argument('--prime', type=int, default=16)
    ap.add_argument('--rerun-full-max', type=int, default=256, help='run the re-run baseline to the end up to this many tokens')
    ap.add_argument('--grammar', action='store_true', help="measure the event grammar's cost instead")
    ap.add_argument('--presets', nargs='+', default=['tiny', 'paper'])
    ap.add_argument('--tokens', type=int, default=512, help='--grammar: new tokens per run')
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    if a.grammar: return grammar_cost(a, dev, sync)
    torch.manual_seed(0)
    model = TransformerXL(preset('paper').generator).to(dev).eval()
    sampler = Sampler(top_k=32, temperature=0.95, grammar=False)
    rows = []
    with torch.no_grad():
        for B in a.batches:
            prime = torch.randint(2, 310, (B, a.prime), device=dev)
            model.generate(prime, 8, sampler, seed=0, mem_len=a.prime + max(a.lengths))   # warm-up
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
                cached[n], _ = timed(lambda: model.generate(prime, n, sampler, seed=0, mem_len=a.prime + n), sync)
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
