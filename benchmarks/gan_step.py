"""One GAN step (generator rollout with a backward per segment + discriminator update): time and peak memory vs rollout length.

    python benchmarks/gan_step.py [--preset paper|tiny] [--device cpu|cuda] [--batch N] [--lengths 128 512 1024]
                                  [--segment 128] [--context N] [--whole | --modes whole plain] [--bf16] [--no-warmup]
                                  [--max-memory-gb G] [--malloc-mmap-threshold BYTES]

What is timed: `music_gan.gan.GanStep.__call__` once — a Gumbel rollout of `gan.rollout_len` tokens after
`gan.context_len` real tokens, scored by the discriminator segment by segment (`gan.rollout_segment`, default
128) with a backward per segment, the generator's Adam step, then the discriminator's update on the real and
generated segments. Windows are real `Crops` of synthetic `CachedPiece`s of random event tokens (ids 2..V-1).
Models are freshly initialised at `--preset` (default 'paper': 13.7M-parameter Transformer-XL, memory 1024; the
6-layer 768-wide BERT discriminator, 'emb' and '0' frozen as in the GAN stage).

How it is measured: every (rollout length, mode) runs in a FRESH subprocess (the script re-invokes itself with
`--one LENGTH`), so one length's peak cannot hide another's. In it: the models, optimisers and data are built;
one warm-up step is run and timed ('first step'); freed heap is handed back (gc + glibc malloc_trim); then the
baseline is read and ONE more step is run and timed ('step'). Memory of that step:
  CPU:  peak = resource.getrusage(RUSAGE_SELF).ru_maxrss (the process's peak RSS, KiB on Linux) after the step;
        baseline = current RSS (/proc/self/statm) just before it; increase = peak - baseline. ru_maxrss cannot
        be reset, so the peak is over the whole process, warm-up included; the warm-up's own peak is printed too
        (it has no optimiser state yet, so it is normally lower). With --no-warmup the first step is the measured one.
  CUDA: torch.cuda.reset_peak_memory_stats() before the step; peak = torch.cuda.max_memory_allocated();
        baseline = torch.cuda.memory_allocated() before it.
--whole runs the same step with the non-segmented twin of the rollout (`GanStep(..., segmented=False)`, passed on to
`rollout`: one backward after the whole rollout, so the graph of every segment is alive at once); GanStep is otherwise
unchanged. Mode 'plain' is the segmented rollout with `GanStep(..., cached=False)`: each step through the model's own
forward (`PlainDecoder`, which re-projects the memory's keys and values per token inside the graph) instead of
`CachedDecoder`, for comparison.
On CPU each subprocess runs under an address-space limit (--max-memory-gb, default 75% of the memory available at
start), so a length that does not fit fails cleanly ('out of memory' in the table) instead of waking the OOM killer.
glibc keeps some freed memory (its mmap threshold rises as large blocks are freed), so RSS can exceed live memory;
--malloc-mmap-threshold 131072 fixes the threshold in the subprocesses (RSS then follows live tensors, steps are slower).

Target: peak memory at 1024 <= 1.25x peak memory at 128 (CPU: peak RSS; GPU: torch.cuda.max_memory_allocated),
and time linear in length (1024/128 ~ 8x). Default batch: 8 on CUDA (and for tiny); 1 for the paper preset on CPU,
where one step at 1024 takes ~2.5 min on 2 cores and ~13 GiB of RSS at batch 1 (batch 2 would not fit in 23 GiB, nor
the default run in ~10 minutes). The table gives the ratios 512/128 and 1024/128 of time, of the
absolute peak and of the increase over the pre-step baseline, per mode.
"""
import argparse, ctypes, gc, json, os, resource, subprocess, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

MARK = 'GAN_STEP_RESULT '


def rss_kib() -> int:
    "Current resident set size of this process, KiB."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


def peak_kib() -> int: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux


def release_heap():
    "Hand freed memory back to the OS so the baseline RSS is live memory, not glibc's free lists."
    gc.collect()
    try: ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError): pass


def one(a) -> dict:
    "Build, warm up, measure one step at rollout length `a.one`; the measurements as a dict."
    from music_gan.config import preset
    from music_gan.data import CachedPiece, Crops
    from music_gan.discriminator import make_discriminator
    from music_gan.gan import GanStep
    from music_gan.generator import TransformerXL

    dev = torch.device(a.device)
    cuda = dev.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    base = preset(a.preset)
    context = a.context or base.gan.context_len
    cfg = base.override(**{'gan.rollout_len': a.one, 'gan.rollout_segment': a.segment, 'gan.context_len': context})

    window = context + a.one
    rng = np.random.default_rng(0)
    V = cfg.codec.vocab_size
    pieces = [CachedPiece(f'synthetic-{i}', 'train', rng.integers(2, V, size=2 * window).astype(np.int64)) for i in range(8)]
    crops = Crops(pieces, window, seed=0)
    torch.manual_seed(0)
    g = TransformerXL(cfg.generator).to(dev).train()
    d = make_discriminator(cfg.discriminator).to(dev)
    d.freeze(cfg.discriminator.freeze)                                    # as GanTrainer does
    step_fn = GanStep(g, d, cfg, crops, device=dev, segmented=not a.whole,   # --whole: the non-segmented twin
                      cached=not a.plain)                                       # mode 'plain': steps through model.forward
    gen = torch.Generator(dev).manual_seed(0)

    def step(i):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            out = step_fn(i, cfg.gan.max_steps, a.batch, generator=gen)
        sync()
        return out

    res = {'length': a.one, 'segment': a.segment, 'context': context, 'batch': a.batch, 'whole': a.whole,
           'warmup': not a.no_warmup, 'first_s': None, 'warm_peak_mib': None}
    if not a.no_warmup:
        t = time.perf_counter(); step(0); res['first_s'] = time.perf_counter() - t
        res['warm_peak_mib'] = (torch.cuda.max_memory_allocated() if cuda else peak_kib() * 1024) / 2**20
        release_heap()
    if cuda:
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else: before = rss_kib() * 1024
    t = time.perf_counter(); out = step(1); res['step_s'] = time.perf_counter() - t
    peak = torch.cuda.max_memory_allocated() if cuda else peak_kib() * 1024
    res.update(before_mib=before / 2**20, peak_mib=peak / 2**20, increase_mib=(peak - before) / 2**20,
               loss_g=out['loss_g'], loss_d=out['loss_d'])
    return res


def ratio(x, x0): return f"{x / x0:.2f}x" if x0 else '-'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--preset', default='paper', choices=['paper', 'tiny'])
    ap.add_argument('--batch', type=int, default=None, help='default: 8 on CUDA and for tiny; 1 for paper on CPU')
    ap.add_argument('--lengths', type=int, nargs='+', default=[128, 512, 1024], help='rollout lengths (gan.rollout_len)')
    ap.add_argument('--segment', type=int, default=128, help='gan.rollout_segment: tokens per backward')
    ap.add_argument('--context', type=int, default=None, help="real tokens before the rollout (default: the preset's gan.context_len)")
    ap.add_argument('--whole', action='store_true', help='also run the non-segmented rollout (one backward at the end) for comparison')
    ap.add_argument('--modes', nargs='+', choices=['segmented', 'whole', 'plain'], default=None,
                    help="rollouts to run (default: segmented, plus whole with --whole); 'plain': segmented with cached=False")
    ap.add_argument('--plain', action='store_true', help=argparse.SUPPRESS)   # internal: mode 'plain' in this process
    ap.add_argument('--bf16', action='store_true', help='run the step under bf16 autocast')
    ap.add_argument('--no-warmup', action='store_true', help='measure the first step (no warm-up step)')
    ap.add_argument('--max-memory-gb', type=float, default=None,
                    help='CPU: address-space limit per measuring process (default: 75%% of MemAvailable at start)')
    ap.add_argument('--malloc-mmap-threshold', type=int, default=None,
                    help='CPU/glibc: set MALLOC_MMAP_THRESHOLD_ in the measuring processes (default: glibc dynamic threshold)')
    ap.add_argument('--one', type=int, default=None, help=argparse.SUPPRESS)   # internal: one measurement in this process
    a = ap.parse_args()
    if a.batch is None: a.batch = 8 if a.device.startswith('cuda') or a.preset == 'tiny' else 1

    if a.one is not None:
        if a.max_memory_gb and not a.device.startswith('cuda'):
            lim = int(a.max_memory_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
        print(MARK + json.dumps(one(a)), flush=True)
        return

    t0, load = time.perf_counter(), os.getloadavg()
    cuda = a.device.startswith('cuda')
    if a.max_memory_gb is None and not cuda:
        avail = next(int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemAvailable'))   # KiB
        a.max_memory_gb = round(0.75 * avail / 2**20, 1)
    env = dict(os.environ)
    if a.malloc_mmap_threshold: env['MALLOC_MMAP_THRESHOLD_'] = str(a.malloc_mmap_threshold)
    passed = [f'--device={a.device}', f'--preset={a.preset}', f'--batch={a.batch}', f'--segment={a.segment}']
    passed += [f'--max-memory-gb={a.max_memory_gb}'] * (not cuda)
    passed += [f'--context={a.context}'] * (a.context is not None) + ['--bf16'] * a.bf16 + ['--no-warmup'] * a.no_warmup
    modes = a.modes or ['segmented'] + ['whole'] * a.whole
    results = {}
    for mode in modes:
        for n in a.lengths:
            cmd = [sys.executable, __file__, f'--one={n}', *passed] + ['--whole'] * (mode == 'whole') + ['--plain'] * (mode == 'plain')
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            lines = [l for l in p.stdout.splitlines() if l.startswith(MARK)]
            if p.returncode or not lines:
                err = (p.stderr.strip().splitlines() or ['no output'])[-1]
                print(f"  {mode:9} {n:5}: failed (exit {p.returncode}): {err}", file=sys.stderr)
                oom = any(s in p.stderr for s in ("can't allocate memory", 'out of memory', 'MemoryError'))
                results[mode, n] = ('out of memory' + (f' (limit {a.max_memory_gb} GiB)' if not cuda else '')) if oom else f'failed (exit {p.returncode})'
            else: results[mode, n] = json.loads(lines[-1][len(MARK):])
            r = results[mode, n]
            if isinstance(r, dict): print(f"  {mode:9} {n:5}: step {r['step_s']:.2f} s, peak {r['peak_mib']:.0f} MiB, +{r['increase_mib']:.0f} MiB", file=sys.stderr)

    rows = []
    for mode in modes:
        r0 = results.get((mode, a.lengths[0]))
        r0 = r0 if isinstance(r0, dict) else None
        for n in a.lengths:
            r = results[mode, n]
            if not isinstance(r, dict): rows.append([mode, n, a.segment, a.batch, r] + [''] * 8); continue
            rows.append([mode, n, a.segment, a.batch,
                         f"{r['first_s']:.2f}" if r['first_s'] is not None else '-', f"{r['step_s']:.2f}",
                         ratio(r['step_s'], r0['step_s']) if r0 else '-',
                         f"{r['warm_peak_mib']:.0f}" if r['warm_peak_mib'] is not None else '-',
                         f"{r['before_mib']:.0f}", f"{r['peak_mib']:.0f}", ratio(r['peak_mib'], r0['peak_mib']) if r0 else '-',
                         f"{r['increase_mib']:.0f}", ratio(r['increase_mib'], r0['increase_mib']) if r0 else '-'])
    ctx = next((r['context'] for r in results.values() if isinstance(r, dict)), a.context)
    mem = 'torch.cuda.max_memory_allocated' if cuda else 'peak RSS (ru_maxrss)'
    print(f"one GAN step (GanStep: rollout with a backward per {a.segment}-token segment + discriminator update), "
          f"{a.preset} preset, batch {a.batch}, context {ctx}, {'bf16 autocast' if a.bf16 else 'float32'} on {a.device} "
          f"({machine()}{', ' + torch.cuda.get_device_name() if cuda else ''}); one fresh process per row; "
          f"{'first step measured, no warm-up' if a.no_warmup else 'the step after one warm-up step measured'}; "
          f"memory: {mem}{'; MALLOC_MMAP_THRESHOLD_=' + str(a.malloc_mmap_threshold) if a.malloc_mmap_threshold else ''}; "
          f"1-min load average before / after: {load[0]:.2f} / {os.getloadavg()[0]:.2f}\n")
    n0 = a.lengths[0]
    print(table(['mode', 'rollout', 'segment', 'batch', 'first step s', 'step s', f'time /{n0}', 'warm-up peak MiB',
                 'before MiB', 'peak MiB', f'peak /{n0}', 'increase MiB', f'increase /{n0}'], rows))
    seg = {n: results.get(('segmented', n)) for n in a.lengths}
    if isinstance(seg.get(n0), dict) and isinstance(seg.get(a.lengths[-1]), dict):
        big = a.lengths[-1]
        pk, tm = seg[big]['peak_mib'] / seg[n0]['peak_mib'], seg[big]['step_s'] / seg[n0]['step_s']
        print(f"\ntarget (segmented): peak {big}/{n0} = {pk:.2f}x (<= 1.25x: {'met' if pk <= 1.25 else 'NOT met'}); "
              f"time {big}/{n0} = {tm:.2f}x (linear: {big / n0:.0f}x)")
    print(f"total run time {time.perf_counter() - t0:.0f} s")


if __name__ == '__main__':
    main()
