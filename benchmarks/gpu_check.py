"""One prepared check of the kit on a GPU: CUDA cells and tests, training/generation/GAN speed, three-stage training.

    python benchmarks/gpu_check.py [--out DIR] [--work DIR] [--parts tests train generate gan e2e] [--budget S]
    python benchmarks/gpu_check.py --dry-run --out DIR      # the same at tiny size on the CPU, in under a minute

On a fresh GPU machine use `bash benchmarks/gpu_check.sh` (it installs what is missing, then runs this). Everything that
must come back is written to --out (default: $OUT, else ./gpu_check_out), at most 8 files, none over 16 MiB:
  RESULTS.md      the Markdown tables (also printed at the end), ready for benchmarks/RESULTS.md
  results.json    every measurement, with each part's status and seconds
  gpu_check.log   the output of every part and command
  e2e_files.tar.gz  the three-stage run's logs, loss curves and samples (MIDI + WAV)
  model_gan.half.tar.partN  the trained generator (`music-gan export --half`: a model folder) as a tar in pieces under
                  16 MiB: `cat model_gan.half.tar.part* > m.tar && tar xf m.tar`, then `music-gan sample --ckpt model_gan.half`
The full checkpoints stay in --work (default: a new folder under /tmp).

The parts, each with its own time budget (seconds, scaled by --budget / 420); a failure or time-out in one is recorded
and the others still run. Without --dry-run each part runs in its own process (killed at its budget + 30 s, keeping
what it measured so far); with --dry-run they run in this process.
  tests     (45)  `nbdev_test --flags cuda` on every notebook with a `#| cuda` cell, and `pytest tests/test_cuda.py`
  train     (150) the MLE step of the paper preset (B x tgt_len 128 x mem_len 1024; forward + backward + clip + Adam,
                  fused on CUDA) in fp32 and bf16 autocast, batch 8, 16, 32, ... until the GPU is full (out of
                  memory), tokens/s stop growing (< 5 %) or the variant's share of the budget is spent; then bf16 +
                  torch.compile at bf16's best batch (and twice it, if time is left: each batch size compiles anew);
                  tokens/s, peak memory, MFU. First, one attention block per `impl`; last, one row of the kit's own
                  `Trainer.train_step` (which reads the loss back every step).
                  MFU = tokens/s x model FLOPs per token (benchmarks/train_step.py: train_flops_per_token, counted from
                  the configuration: dense matrices of the token, the memory's keys/values and the position projection
                  re-done per segment, attention over tgt_len + mem_len keys) / the GPU's dense bf16 peak: 989 TFLOP/s
                  for H100/H200 SXM, the table below for others, --peak-tflops to say. fp32 MFU is against the same bf16
                  peak (it says how far fp32 is from what the chip can do, not how well fp32 uses its own peak).
  generate  (35)  cached generation (`TransformerXL.generate`, top-k 32), batch 1 and 32, 1,024 and 4,096 new tokens
  gan       (45)  one GAN step (benchmarks/gan_step.py's measurement, `GanStep`), rollout 128 and 1,024: time, peak memory
  e2e       (145) `music-gan prepare` (default corpus), `music-gan train --preset paper` through mle, mlm and gan, then
                  `music-gan sample` and `music-gan export --half`: what a researcher runs, a few minutes' worth.
"""
import argparse, contextlib, gc, io, json, os, platform, shutil, statistics, subprocess, sys, tarfile, tempfile, time, traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE)); sys.path.insert(0, str(ROOT))

PARTS = ('tests', 'train', 'generate', 'gan', 'e2e')
BUDGET = {'tests': 45, 'train': 150, 'generate': 35, 'gan': 45, 'e2e': 145}      # seconds, total 420 (7 min)
SECTIONS = {'env': '## Environment', 'tests': '## 1. CUDA cells and tests', 'train': '## 2. MLE training step',
            'generate': '## 3. Cached generation', 'gan': '## 4. GAN step', 'e2e': '## 5. Three-stage training (music-gan)',
            'targets': '## Targets'}
PEAK_TFLOPS = [('H100 PCIe', 756.0), ('H100 NVL', 835.0), ('H200 NVL', 835.0), ('H100', 989.0), ('H200', 989.0),
               ('GH200', 989.0), ('B200', 2250.0), ('A100', 312.0), ('L40S', 362.0), ('L4', 121.0), ('A10', 125.0)]
MAX_FILE = 15 * 2**20                                                     # what comes back from the device: < 16 MiB each


def peak_tflops(name: str) -> tuple[float, str]:
    "Dense bf16 peak of the GPU called `name`, TFLOP/s, and where the figure came from."
    for key, tf in PEAK_TFLOPS:
        if key.lower() in name.lower(): return tf, f'{key} dense bf16 (spec sheet)'
    return 989.0, f'unknown GPU {name!r}: H100/H200 SXM figure assumed'


class Log:
    "Print and append to gpu_check.log."
    def __init__(self, path): self.path = Path(path)
    def __call__(self, *msg):
        line = ' '.join(str(m) for m in msg)
        print(line, flush=True)
        with open(self.path, 'a') as f: f.write(line + '\n')


def _sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize()


def _free(dev):
    import torch
    gc.collect()
    if dev.type == 'cuda': torch.cuda.empty_cache()


def _is_oom(e: BaseException) -> bool:
    return 'out of memory' in str(e).lower() or type(e).__name__ == 'OutOfMemoryError'


class Part:
    "A part's results, saved to its JSON file after every change (a killed part keeps what it measured)."
    def __init__(self, name, path, a):
        self.name, self.path, self.t0, self.dry = name, Path(path), time.perf_counter(), a.dry_run
        self.budget = BUDGET[name] * a.budget / sum(BUDGET.values())
        self.data = {'status': 'running', 'rows': [], 'notes': [], 'budget_s': round(self.budget, 1)}
    def left(self) -> float:
        "Seconds left of the budget (a dry run runs everything once, whatever the time: its point is to run each path)."
        return float('inf') if self.dry else self.budget - (time.perf_counter() - self.t0)
    def save(self):
        self.data['seconds'] = round(time.perf_counter() - self.t0, 1)
        self.path.write_text(json.dumps(self.data, indent=1, default=str))
    def row(self, **r): self.data['rows'].append(r); self.save()
    def note(self, s): self.data['notes'].append(s); self.save()


# ---------------------------------------------------------------------------------------------------- the parts
def part_tests(p: Part, a, dev, log):
    "nbdev_test --flags cuda on the notebooks with `#| cuda` cells; pytest tests/test_cuda.py."
    nbs = sorted(str(f.relative_to(ROOT)) for d in ('nbs', 'tutorials') for f in (ROOT / d).glob('*.ipynb')
                 if any(line.strip().startswith('#| cuda') for c in json.loads(f.read_text())['cells'] if c['cell_type'] == 'code'
                        for line in ''.join(c['source']).splitlines()))
    nbdev_test = shutil.which('nbdev_test') or shutil.which('nbdev_test', path=str(Path(sys.executable).parent)) or 'nbdev_test'
    cmds = [(nb, [nbdev_test, '--path', nb, '--flags', 'cuda', '--do_print']) for nb in nbs]
    cmds.append(('tests/test_cuda.py', [sys.executable, '-m', 'pytest', '-q', '-rs', '-p', 'no:cacheprovider', 'tests/test_cuda.py']))
    p.data['notebooks'] = nbs
    for what, cmd in cmds:
        shown = ' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
        if dev.type != 'cuda':
            p.row(what=what, command=shown, status='skipped: no CUDA device', seconds=0.0); continue
        if p.left() < 5:
            p.row(what=what, command=shown, status='skipped: budget spent', seconds=0.0); continue
        t = time.perf_counter()
        try:
            r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=max(p.left(), 5),
                               env=dict(os.environ, IN_TEST='1'))
            log(f'$ {shown}\n{r.stdout[-4000:]}{r.stderr[-4000:]}')
            tail = (r.stdout.strip().splitlines() or [''])[-1][:120]
            status = 'passed' if r.returncode == 0 else f'FAILED (exit {r.returncode})'
            if what.endswith('.py'): status += f': {tail}'
        except subprocess.TimeoutExpired: status = 'FAILED: timed out'
        except OSError as e: status = f'FAILED: {e}'
        p.row(what=what, command=shown, status=status, seconds=round(time.perf_counter() - t, 1))


def part_train(p: Part, a, dev, log):
    "The MLE step at growing batch sizes, per precision; then the kit's Trainer.train_step once."
    import torch
    from train_step import build_train_step, train_flops_per_token
    from music_gan.config import preset
    g = preset('tiny' if a.dry_run else 'paper').generator
    flops = train_flops_per_token(g)['train']
    p.data.update(flops_per_token=flops, preset='tiny' if a.dry_run else 'paper', peak_tflops=a.peak, peak_source=a.peak_source)
    _attention_rows(p, a, dev, log, g)
    batches = [2] if a.dry_run else [8, 16, 32, 64, 128, 256, 512]
    variants = [('fp32', False, False), ('bf16', True, False), ('bf16+compile', True, True)]
    share = {'fp32': 0.25, 'bf16': 0.25, 'bf16+compile': 0.45}                 # of the part's budget; compiling is slow
    n_steps, warm = (1, 1) if a.dry_run else (6, 2)
    backend = 'eager' if a.dry_run else 'inductor'       # dry run: trace with dynamo, skip code generation (seconds, not minutes)
    for name, bf16, comp in variants:
        t_var, last = time.perf_counter(), None
        if comp:                                 # at bf16's best batch size (then twice it): each batch size compiles anew
            ok_bf16 = [r for r in p.data['rows'] if r['precision'] == 'bf16' and r.get('status') == 'ok']
            best = max(ok_bf16, key=lambda r: r['tokens_per_s'])['batch'] if ok_bf16 else batches[0]
            batches = [best, 2 * best] if not a.dry_run else batches
        for B in batches:
            spent = time.perf_counter() - t_var
            if (spent > share[name] * p.budget and not a.dry_run) or p.left() < 3:
                p.note(f'{name}: stopped before batch {B}: its share of the budget was spent'); break
            row = dict(precision=name, batch=B, tgt_len=g.tgt_len, mem_len=g.mem_len)
            model = step = None
            try:
                t = time.perf_counter()
                model, step = build_train_step(g, B, dev, bf16=bf16, compile=comp, backend=backend)
                for _ in range(warm): step()
                _sync(dev); row['warmup_s'] = round(time.perf_counter() - t, 2)
                if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(n_steps):
                    t = time.perf_counter(); loss = step(); _sync(dev); times.append(time.perf_counter() - t)
                med = statistics.median(times)
                tok_s = B * g.tgt_len / med
                row.update(status='ok', step_ms=round(1000 * med, 2), tokens_per_s=round(tok_s), loss=round(float(loss), 4),
                           peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2) if dev.type == 'cuda' else None,
                           tflops=round(tok_s * flops / 1e12, 3), mfu=round(tok_s * flops / (a.peak * 1e12), 4) if a.peak else None)
                p.row(**row)
                log(f'  train {name:13} B {B:4}: {1000 * med:8.1f} ms/step {tok_s:12,.0f} tok/s'
                    + (f"  peak {row['peak_gib']} GiB  MFU {100 * row['mfu']:.1f}%" if row['mfu'] is not None else ''))
                if last and tok_s < 1.05 * last:
                    p.note(f'{name}: stopped after batch {B}: tokens/s grew < 5 % over batch {B // 2}'); break
                last = tok_s
            except Exception as e:
                oom = _is_oom(e)
                row.update(status='out of memory' if oom else f'FAILED: {type(e).__name__}: {str(e)[:200]}')
                p.row(**row); log(f'  train {name} B {B}: {row["status"]}')
                if not oom: log(traceback.format_exc())
                break
            finally:
                del model, step; _free(dev)
    # the kit's own step: Trainer.train_step with LMTask.loss (autocast bf16 on CUDA, the loss read back every step)
    if p.left() > 3:
        _trainer_row(p, a, dev, log, g, flops)


def _attention_rows(p, a, dev, log, g):
    "One attention block (RelMultiHeadAttn), forward + backward, per `impl` and precision: which form wins on this device."
    import torch
    from music_gan.attention import PositionalEmbedding, RelMultiHeadAttn
    B, T, M, D, H = (2 if a.dry_run else 32), g.tgt_len, g.mem_len, g.d_model, g.n_head
    torch.manual_seed(0)
    blk = RelMultiHeadAttn(D, H).to(dev)
    pos = PositionalEmbedding(D).to(dev)(M + T, device=dev)
    u, w = (torch.randn(H, D // H, device=dev) * 0.02 for _ in range(2))
    x, mem = torch.randn(B, T, D, device=dev, requires_grad=True), torch.randn(B, M, D, device=dev)
    valid = torch.ones(B, M, dtype=torch.bool, device=dev)
    p.data['attention'] = []
    for prec in ('fp32', 'bf16'):
        for impl in ('sdpa', 'strided', 'matmul'):
            row = dict(impl=impl, precision=prec, batch=B, tgt_len=T, mem_len=M)
            try:
                blk.impl = impl
                def once():
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=prec == 'bf16'):
                        out = blk(x, pos, u, w, mem, valid)
                    out.float().sum().backward()
                for _ in range(1 if a.dry_run else 2): once()
                _sync(dev)
                if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(1 if a.dry_run else 5):
                    t = time.perf_counter(); once(); _sync(dev); times.append(time.perf_counter() - t)
                row.update(status='ok', ms=round(1000 * statistics.median(times), 3),
                           peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2) if dev.type == 'cuda' else None)
            except Exception as e:
                row.update(status='out of memory' if _is_oom(e) else f'FAILED: {type(e).__name__}: {str(e)[:200]}')
            p.data['attention'].append(row); p.save(); _free(dev)
    blk.impl = 'auto'


def _trainer_row(p, a, dev, log, g, flops):
    import torch
    from music_gan.config import preset
    from music_gan.generator import Memory, TransformerXL
    from music_gan.train import LMTask, Trainer
    B = 2 if a.dry_run else 8
    row = dict(precision='Trainer.train_step' + (' (bf16 autocast)' if dev.type == 'cuda' else ' (fp32)'), batch=B,
               tgt_len=g.tgt_len, mem_len=g.mem_len)
    try:
        cfg = preset('tiny' if a.dry_run else 'paper').override(**{'train.batch_size': B})
        torch.manual_seed(0)
        task = LMTask.__new__(LMTask)                                     # LMTask's loss, on a synthetic batch
        task.name, task.rank, task.world, task.mem_len = 'mle', 0, 1, None
        task.mems = Memory([torch.randn(B, g.mem_len, g.d_model, device=dev) for _ in range(g.n_layer)],
                           torch.ones(B, g.mem_len, dtype=torch.bool, device=dev))
        x = torch.randint(2, g.vocab_size, (B, g.tgt_len + 1))
        batch = (x[:, :-1], x[:, 1:], torch.zeros(B, dtype=torch.bool))
        tr = Trainer(TransformerXL(g), task, cfg, Path(a.work) / 'trainer_row', device=str(dev))
        for _ in range(1 if a.dry_run else 2): tr.train_step(batch)
        times = []
        for _ in range(1 if a.dry_run else 6):
            t = time.perf_counter(); tr.train_step(batch); _sync(dev); times.append(time.perf_counter() - t)
        med = statistics.median(times); tok_s = B * g.tgt_len / med
        row.update(status='ok', step_ms=round(1000 * med, 2), tokens_per_s=round(tok_s), tflops=round(tok_s * flops / 1e12, 3),
                   mfu=round(tok_s * flops / (a.peak * 1e12), 4) if a.peak else None)
        tr.log.close()
    except Exception as e:
        row.update(status=f'FAILED: {type(e).__name__}: {str(e)[:200]}'); log(traceback.format_exc())
    p.row(**row)


def part_generate(p: Part, a, dev, log):
    "Cached generation: batch 1 and 32, 1,024 and 4,096 new tokens (fp32, then bf16 autocast while the budget lasts)."
    import torch
    from music_gan.config import preset
    from music_gan.generator import Sampler, TransformerXL
    g = preset('tiny' if a.dry_run else 'paper').generator
    torch.manual_seed(0)
    model = TransformerXL(g).to(dev).eval()
    sizes = [(1, 8), (2, 16)] if a.dry_run else [(32, 1024), (1, 4096), (1, 1024), (32, 4096)]   # the targets' sizes first
    sampler = Sampler(temperature=0.95, top_k=32)
    for prec in ('fp32', 'bf16'):
        for B, n in sizes:
            if p.left() < 12:
                p.note(f'{prec} batch {B}, {n} tokens: skipped, budget spent'); continue
            row = dict(precision=prec, batch=B, new_tokens=n, prime=16)
            try:
                prime = torch.randint(2, g.vocab_size, (B, 16), device=dev)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=prec == 'bf16'):
                    model.generate(prime, 2 if a.dry_run else 8, sampler, seed=0); _sync(dev)            # warm-up
                    t = time.perf_counter(); out = model.generate(prime, n, sampler, seed=0); _sync(dev)
                s = time.perf_counter() - t
                row.update(status='ok', seconds=round(s, 3), tokens_per_s=round(B * n / s), shape=list(out.shape))
                log(f'  generate {prec} B {B:3} n {n:5}: {s:7.2f} s {B * n / s:10,.0f} tok/s')
            except Exception as e:
                row.update(status='out of memory' if _is_oom(e) else f'FAILED: {type(e).__name__}: {str(e)[:200]}')
                log(traceback.format_exc())
            p.row(**row); _free(dev)


def part_gan(p: Part, a, dev, log):
    "One GAN step at rollout 128 and 1,024 through benchmarks/gan_step.py's `one` (peak: torch.cuda.max_memory_allocated)."
    import gan_step
    lengths = [8, 16] if a.dry_run else [128, 1024]
    for n in lengths:
        if p.left() < 2: p.note(f'rollout {n}: skipped, budget spent'); continue
        ns = argparse.Namespace(one=n, device=str(dev), preset='tiny' if a.dry_run else 'paper', batch=2 if a.dry_run else 8,
                                segment=8 if a.dry_run else 128, context=None, whole=False, plain=False, bf16=False,
                                no_warmup=False)
        row = dict(rollout=n, batch=ns.batch, segment=ns.segment)
        try:
            r = gan_step.one(ns)
            row.update(status='ok', context=r['context'], first_s=round(r['first_s'], 3), step_s=round(r['step_s'], 3),
                       before_mib=round(r['before_mib']), peak_mib=round(r['peak_mib']), increase_mib=round(r['increase_mib']),
                       memory='torch.cuda.max_memory_allocated' if dev.type == 'cuda' else 'peak RSS of the process (ru_maxrss)')
            log(f"  gan rollout {n:5}: step {r['step_s']:.2f} s, peak {r['peak_mib']:.0f} MiB")
        except Exception as e:
            row.update(status='out of memory' if _is_oom(e) else f'FAILED: {type(e).__name__}: {str(e)[:200]}')
            log(traceback.format_exc())
        p.row(**row); _free(dev)


CLI = 'import sys; from music_gan.cli import main; sys.exit(main(sys.argv[1:]))'


def _cli(p: Part, a, log, stage: str, args: list, timeout: float) -> bool:
    "Run `music-gan ARGS` (a subprocess; in-process with --dry-run) and record it as a row."
    shown = 'music-gan ' + ' '.join(args)
    row = dict(stage=stage, command=shown)
    t = time.perf_counter()
    if timeout < 2:
        row.update(status='skipped: budget spent', seconds=0.0); p.row(**row); return False
    log(f'$ {shown}')
    try:
        if a.dry_run:
            from music_gan.cli import main
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf): rc = main(args)
            out = buf.getvalue()
        else:
            r = subprocess.run([sys.executable, '-c', CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            rc, out = r.returncode, r.stdout + r.stderr
        log(out[-3000:])
        row['status'] = 'ok' if rc == 0 else f'FAILED (exit {rc}): {(out.strip().splitlines() or [""])[-1][:200]}'
    except subprocess.TimeoutExpired: row['status'] = f'FAILED: timed out after {timeout:.0f} s'
    except Exception as e: row['status'] = f'FAILED: {type(e).__name__}: {str(e)[:200]}'; log(traceback.format_exc())
    row['seconds'] = round(time.perf_counter() - t, 1)
    p.row(**row)
    return row['status'] == 'ok'


def _last(log_csv: Path, name: str):
    "The last logged value of `name` in a run's log.csv (None if absent)."
    import csv
    if not log_csv.exists(): return None
    vals = [r['value'] for r in csv.DictReader(open(log_csv)) if r['name'] == name]
    return float(vals[-1]) if vals else None


def part_e2e(p: Part, a, dev, log):
    "prepare → train mle → mlm → gan (paper preset) → sample → export, with the kit's own command."
    W = Path(a.work) / 'e2e'; W.mkdir(parents=True, exist_ok=True)
    pre = 'tiny' if a.dry_run else 'paper'
    mle, mlm, gan = a.e2e_steps
    share = {'prepare': 0.15, 'mle': 0.37, 'mlm': 0.12, 'gan': 0.23, 'sample': 0.09, 'export': 0.04}
    t0 = time.perf_counter()
    def timeout(stage):            # a stage may use what earlier stages left over, never past the part's budget
        if a.dry_run: return float('inf')
        used = sum(share[s] for s in share if list(share).index(s) < list(share).index(stage))
        return max(min(p.left() - 1, (used + share[stage]) * p.budget - (time.perf_counter() - t0)), 0)
    device = str(dev)
    common = ['--preset', pre, '--data', str(W / 'data'), '--device', device]
    ok = _cli(p, a, log, 'prepare', ['prepare', '--corpus', 'bach', '--out', str(W / 'data'), '--no-progress']
              + (['--limit', '6', '--workers', '1'] if a.dry_run else ['--workers', str(min(os.cpu_count() or 1, 16))]),
              timeout('prepare'))
    # evaluation and a checkpoint every third of the MLE stage: a stage stopped at its time limit leaves a checkpoint
    sets = [f'train.warmup={max(mle // 10, 1)}', f'train.log_interval={max(mle // 20, 1)}', f'train.eval_interval={max(mle // 3, 1)}',
            f'gan.max_steps={gan}']
    ok and _cli(p, a, log, 'mle', ['train', *common, '--stage', 'mle', '--out', str(W / 'mle'), '--max-steps', str(mle),
                                    '--set', *sets], timeout('mle'))
    ok = (W / 'mle/checkpoint').exists()                               # a stage cut short still leaves its last checkpoint
    ok and _cli(p, a, log, 'mlm', ['train', *common, '--stage', 'mlm', '--out', str(W / 'mlm'), '--max-steps', str(mlm),
                                    '--set', *sets], timeout('mlm'))
    ok2 = (W / 'mlm/checkpoint').exists()
    ok and _cli(p, a, log, 'gan', ['train', *common, '--stage', 'gan', '--out', str(W / 'gan'), '--max-steps', str(gan),
                                    '--init-generator', str(W / 'mle')]                   # run folders: their checkpoint/
                + (['--init-discriminator', str(W / 'mlm')] if ok2 else []) + ['--set', *sets], timeout('gan'))
    ckpt = W / 'gan' if (W / 'gan/checkpoint').exists() else W / 'mle'
    if ok:
        _cli(p, a, log, 'sample', ['sample', '--ckpt', str(ckpt), '--out', str(W / 'samples'), '--n', '2',
                                   '--seconds', '3' if a.dry_run else '30', '--device', device], timeout('sample'))
        _cli(p, a, log, 'export', ['export', '--ckpt', str(ckpt), '--out', str(W / 'model_gan.half'), '--half'], timeout('export'))
    p.data['results'] = {'mle_validation_nll': _last(W / 'mle/log.csv', 'validation_nll'), 'mle_last_loss': _last(W / 'mle/log.csv', 'loss'),
                         'mlm_masked_accuracy': _last(W / 'mlm/log.csv', 'validation_masked_accuracy'),
                         'gan_validation_nll': _last(W / 'gan/log.csv', 'validation_nll'), 'steps': {'mle': mle, 'mlm': mlm, 'gan': gan},
                         'sampled_from': ckpt.name}
    p.save()


FUNCS = {'tests': part_tests, 'train': part_train, 'generate': part_generate, 'gan': part_gan, 'e2e': part_e2e}


def run_part(name, a, log) -> dict:
    "Run part `name` in this process; its results (also in work/part_<name>.json)."
    import torch
    dev = torch.device(a.device)
    p = Part(name, Path(a.work) / f'part_{name}.json', a)
    p.save()
    log(f'== {name} (budget {p.budget:.0f} s)')
    try:
        FUNCS[name](p, a, dev, log)
        p.data['status'] = 'ok' if not any(str(r.get('status', 'ok')).startswith('FAILED') for r in p.data['rows']) else 'failed'
    except Exception as e:
        p.data['status'] = f'FAILED: {type(e).__name__}: {str(e)[:300]}'; log(traceback.format_exc())
    p.save()
    return p.data


def run_isolated(name, a, log) -> dict:
    "Run part `name` in a child process, killed at its budget + 30 s; what it saved survives."
    path = Path(a.work) / f'part_{name}.json'
    budget = BUDGET[name] * a.budget / sum(BUDGET.values())
    cmd = [sys.executable, __file__, '--part', name, *a.passthrough]
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=budget + 30)
        with open(log.path, 'a') as f: f.write(r.stdout + r.stderr)
        print(r.stdout[-6000:], r.stderr[-3000:], sep='', flush=True)
        status = None if r.returncode == 0 else f'FAILED: the part exited with {r.returncode}: {(r.stderr.strip().splitlines() or [""])[-1][:200]}'
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        with open(log.path, 'a') as f: f.write(out)
        status = f'FAILED: killed after {budget + 30:.0f} s (budget {budget:.0f} s); rows measured before are kept'
    data = json.loads(path.read_text()) if path.exists() else {'rows': [], 'notes': []}
    if status: data['status'] = status
    data.setdefault('seconds', round(time.perf_counter() - t, 1))
    return data


# ---------------------------------------------------------------------------------------------------- the report
def _table(header, rows) -> str:
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
                     + ['| ' + ' | '.join('' if c is None else str(c) for c in r) + ' |' for r in rows])


def _f(x, fmt='{:,.0f}'): return '' if x is None else fmt.format(x)


def report(env: dict, res: dict, a) -> str:
    "RESULTS.md: one section per part, and the issue's targets (met / not met / not measured)."
    out = [f"# GPU check of the kit{' (DRY RUN: tiny sizes on ' + env['device'] + ', figures mean nothing)' if a.dry_run else ''}", '',
           SECTIONS['env'], '', _table(['what', 'value'], [[k, v] for k, v in env.items()]), '']
    def head(name):
        d = res.get(name)
        if d is None: return [SECTIONS[name], '', 'not run (not in --parts).', '']
        return [SECTIONS[name], '', f"status: {d.get('status')}; {d.get('seconds', '?')} s of a {d.get('budget_s', '?')} s budget.", '']
    tr = res.get('tests', {})
    out += head('tests') + [_table(['what', 'command', 'status', 's'], [[r['what'], f"`{r['command']}`", r['status'], r['seconds']]
                                                                        for r in tr.get('rows', [])]), '']
    t = res.get('train', {})
    out += head('train')
    if t.get('flops_per_token'):
        out += [f"{t.get('preset')} preset; model FLOPs per trained token {t['flops_per_token'] / 1e6:.1f} M "
                f"(benchmarks/train_step.py: train_flops_per_token); MFU against {t.get('peak_tflops')} TFLOP/s "
                f"({t.get('peak_source')}), fp32 rows too. Adam fused on CUDA; no host-device synchronisation in the step.", '']
    out += [_table(['precision', 'batch', 'tgt_len', 'mem_len', 'ms/step', 'tokens/s', 'peak GiB', 'TFLOP/s', 'MFU', 'warm-up s', 'status'],
                   [[r['precision'], r['batch'], r['tgt_len'], r['mem_len'], _f(r.get('step_ms'), '{:.1f}'), _f(r.get('tokens_per_s')),
                     _f(r.get('peak_gib'), '{:.2f}'), _f(r.get('tflops'), '{:.1f}'), _f(r.get('mfu') and 100 * r['mfu'], '{:.1f}%'),
                     _f(r.get('warmup_s'), '{:.1f}'), r['status']] for r in t.get('rows', [])])] + [f'- {n}' for n in t.get('notes', [])] + ['']
    if t.get('attention'):
        out += ['One attention block (`RelMultiHeadAttn`, memory full), forward + backward, by `impl` (`auto` is `sdpa` on CUDA):', '',
                _table(['impl', 'precision', 'batch', 'ms', 'peak GiB', 'status'],
                       [[r['impl'], r['precision'], r['batch'], _f(r.get('ms'), '{:.2f}'), _f(r.get('peak_gib'), '{:.2f}'), r['status']]
                        for r in t['attention']]), '']
    gen = res.get('generate', {})
    out += head('generate') + [_table(['precision', 'batch', 'prime', 'new tokens', 'seconds', 'tokens/s', 'status'],
                                      [[r['precision'], r['batch'], r['prime'], r['new_tokens'], _f(r.get('seconds'), '{:.2f}'),
                                        _f(r.get('tokens_per_s')), r['status']] for r in gen.get('rows', [])])] + [f'- {n}' for n in gen.get('notes', [])] + ['']
    gs = res.get('gan', {})
    out += head('gan') + [_table(['rollout', 'batch', 'segment', 'context', 'first step s', 'step s', 'before MiB', 'peak MiB', 'increase MiB', 'memory', 'status'],
                                 [[r['rollout'], r['batch'], r['segment'], r.get('context'), _f(r.get('first_s'), '{:.2f}'), _f(r.get('step_s'), '{:.2f}'),
                                   _f(r.get('before_mib')), _f(r.get('peak_mib')), _f(r.get('increase_mib')), r.get('memory', ''), r['status']]
                                  for r in gs.get('rows', [])])] + [f'- {n}' for n in gs.get('notes', [])] + ['']
    e = res.get('e2e', {})
    out += head('e2e') + [_table(['stage', 'command', 's', 'status'], [[r['stage'], f"`{r['command']}`", r['seconds'], r['status']]
                                                                         for r in e.get('rows', [])])]
    if e.get('results'): out += ['', 'results: ' + ', '.join(f'{k} {v}' for k, v in e['results'].items()),
                                 'files: e2e_files.tar.gz (logs, loss curves, samples), model_gan.half.tar.part* '
                                 '(`cat model_gan.half.tar.part* > m.tar && tar xf m.tar`: the model folder model_gan.half).']
    out += ['', SECTIONS['targets'], ''] + [f'- {line}' for line in targets(res)] + ['']
    return '\n'.join(out)


def targets(res) -> list[str]:
    "The issue's targets against what was measured."
    def ok(rows, **match): return [r for r in rows if r.get('status') == 'ok' and all(r.get(k) == v for k, v in match.items())]
    verdict = lambda c: 'met' if c else 'NOT met'
    lines, tr = [], res.get('train', {}).get('rows', [])
    best = {pr: max(ok(tr, precision=pr), key=lambda r: r['tokens_per_s'], default=None) for pr in ('fp32', 'bf16', 'bf16+compile')}
    bf = [r for r in (best['bf16'], best['bf16+compile']) if r]
    if bf and bf[0].get('mfu') is not None:
        m = max(bf, key=lambda r: r['mfu'])
        lines.append(f"paper preset bf16 MFU >= 35 % at the best batch size: {100 * m['mfu']:.1f} % ({m['precision']}, batch {m['batch']}): {verdict(m['mfu'] >= 0.35)}")
    else: lines.append('paper preset bf16 MFU >= 35 %: not measured')
    if best['fp32'] and best['bf16+compile']:
        x = best['bf16+compile']['tokens_per_s'] / best['fp32']['tokens_per_s']
        lines.append(f"bf16 + compile over fp32 (best batch of each) >= 2x: {x:.2f}x: {verdict(x >= 2)}")
    else: lines.append('bf16 + compile over fp32 >= 2x: not measured')
    gr = res.get('generate', {}).get('rows', [])
    b32 = ok(gr, batch=32, precision='fp32')
    lines.append(f"cached generation at batch 32 >= 20,000 tokens/s: " + (f"{max(r['tokens_per_s'] for r in b32):,} tokens/s (fp32): "
                 f"{verdict(max(r['tokens_per_s'] for r in b32) >= 20000)}" if b32 else 'not measured'))
    long1 = ok(gr, batch=1, new_tokens=4096, precision='fp32')
    lines.append(f"4,096 tokens at batch 1 in under 10 s: " + (f"{long1[0]['seconds']:.2f} s (fp32): {verdict(long1[0]['seconds'] < 10)}" if long1 else 'not measured'))
    gs = {r['rollout']: r for r in ok(res.get('gan', {}).get('rows', []))}
    if 128 in gs and 1024 in gs:
        x = gs[1024]['peak_mib'] / gs[128]['peak_mib']
        lines.append(f"GAN step peak memory at rollout 1,024 within 1.25x of rollout 128: {x:.2f}x: {verdict(x <= 1.25)}")
    else: lines.append('GAN step peak memory 1,024 / 128 <= 1.25x: not measured' + (' (dry run: other lengths)' if gs else ''))
    return lines


def environment(a) -> dict:
    import torch
    dev = torch.device(a.device)
    env = {'date (UTC)': time.strftime('%Y-%m-%d %H:%M', time.gmtime()), 'device': a.device,
           'GPU': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else '-',
           'torch': torch.__version__, 'CUDA (torch built with)': torch.version.cuda or '-',
           'cuDNN': torch.backends.cudnn.version() if dev.type == 'cuda' else '-',
           'Python': platform.python_version(), 'CPU cores': os.cpu_count(), 'host': platform.node()}
    if dev.type == 'cuda':
        pr = torch.cuda.get_device_properties(dev)
        env['GPU memory GiB'] = round(pr.total_memory / 2**30, 1); env['multiprocessors'] = pr.multi_processor_count
        try: env['driver'] = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                            capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired): pass
    env['peak dense bf16 TFLOP/s (for MFU)'] = f"{a.peak} ({a.peak_source})" if a.peak else '- (no GPU: MFU not computed)'
    env['command'] = 'python benchmarks/gpu_check.py ' + ' '.join(a.argv)
    return env


def collect(a, out: Path, log):
    "Bring the e2e run's small files into --out: a tarball of logs and samples, the exported generator in < 16 MiB pieces."
    W = Path(a.work) / 'e2e'
    kept = []
    if W.exists():
        files = [f for pat in ('*/log.csv', '*/loss.png', 'samples/*.mid', 'samples/*.wav', 'data/manifest.json', 'data/skipped.tsv')
                 for f in sorted(W.glob(pat))]
        tar, size = out / 'e2e_files.tar.gz', 0
        with tarfile.open(tar, 'w:gz') as tf:
            for f in files:
                if size + f.stat().st_size > MAX_FILE: log(f'  not in the tarball (size): {f}'); continue
                tf.add(f, arcname=str(f.relative_to(W))); size += f.stat().st_size
        kept.append(tar.name)
        model = W / 'model_gan.half'                                     # a model folder: config.json + model.safetensors
        if model.is_dir():
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode='w') as tf: tf.add(model, arcname=model.name)
            data = buf.getvalue()
            for i in range(0, len(data), MAX_FILE):
                part = out / f'model_gan.half.tar.part{i // MAX_FILE}'
                part.write_bytes(data[i:i + MAX_FILE]); kept.append(part.name)
    return kept


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=None, help='folder for what must come back (default: $OUT, else ./gpu_check_out)')
    ap.add_argument('--work', default=None, help='folder for checkpoints and scratch (default: a new folder under /tmp)')
    ap.add_argument('--parts', nargs='+', default=list(PARTS), choices=PARTS)
    ap.add_argument('--budget', type=float, default=None, help='seconds for all parts together (default 420; a dry run ignores it)')
    ap.add_argument('--dry-run', action='store_true', help='tiny sizes, in this process: checks the script (CPU, < 1 minute)')
    ap.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    ap.add_argument('--peak-tflops', type=float, default=None, help="the GPU's dense bf16 peak (default: from its name)")
    ap.add_argument('--e2e-steps', type=int, nargs=3, default=None, metavar=('MLE', 'MLM', 'GAN'),
                    help='steps of each stage in the e2e part (default 1200 400 20; dry run 2 1 1)')
    ap.add_argument('--isolate', action='store_true', help='run each part in its own process in a dry run too (always without --dry-run)')
    ap.add_argument('--part', default=None, help=argparse.SUPPRESS)      # internal: run one part in this process
    a = ap.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    import torch
    a.device = a.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if a.dry_run and torch.device(a.device).type == 'cpu': torch.set_num_threads(1)   # a check of the paths: kind to a shared CPU
    a.budget = a.budget or (30.0 if a.dry_run else float(sum(BUDGET.values())))
    a.e2e_steps = a.e2e_steps or ([2, 1, 1] if a.dry_run else [1200, 400, 20])
    if torch.device(a.device).type == 'cuda': a.peak, a.peak_source = (a.peak_tflops, 'given') if a.peak_tflops else peak_tflops(torch.cuda.get_device_name(a.device))
    else: a.peak, a.peak_source = a.peak_tflops, 'given' if a.peak_tflops else None
    out = Path(a.out or os.environ.get('OUT') or 'gpu_check_out').resolve(); out.mkdir(parents=True, exist_ok=True)
    a.work = str(Path(a.work).resolve()) if a.work else tempfile.mkdtemp(prefix='music_gan_gpu_check_')
    Path(a.work).mkdir(parents=True, exist_ok=True)
    if a.part:                                   # a child: one part, results to work/part_<name>.json; the parent logs its output
        run_part(a.part, a, Log(Path(a.work) / f'part_{a.part}.log')); return 0
    log = Log(out / 'gpu_check.log')
    a.passthrough = [f'--out={out}', f'--work={a.work}', f'--budget={a.budget}', f'--device={a.device}', *['--dry-run'] * a.dry_run,
                     '--e2e-steps', *map(str, a.e2e_steps)] + ([f'--peak-tflops={a.peak_tflops}'] if a.peak_tflops else [])
    t0 = time.perf_counter()
    env = environment(a)
    log(f"gpu_check: {env['GPU'] if env['GPU'] != '-' else a.device}, torch {env['torch']}, CUDA {env['CUDA (torch built with)']}; "
        f"work {a.work}; out {out}")
    res = {}
    for name in a.parts:
        res[name] = run_part(name, a, log) if a.dry_run and not a.isolate else run_isolated(name, a, log)
        (out / 'results.json').write_text(json.dumps({'environment': env, 'parts': res}, indent=1, default=str))
    kept = collect(a, out, log) if 'e2e' in a.parts else []
    env['total seconds'] = round(time.perf_counter() - t0, 1)
    md = report(env, res, a)
    (out / 'RESULTS.md').write_text(md)
    (out / 'results.json').write_text(json.dumps({'environment': env, 'parts': res, 'files': kept}, indent=1, default=str))
    print('\n' + md)
    print(f"wrote {out}: RESULTS.md, results.json, gpu_check.log" + ''.join(', ' + k for k in kept))
    return 0


if __name__ == '__main__':
    sys.exit(main())
