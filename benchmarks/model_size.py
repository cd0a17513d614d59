"""Generator sizes and lengths at an equal training budget: validation NLL after the same wall-clock minutes each.

    python benchmarks/model_size.py --data CACHE --out RUNS [--minutes 10] [--arms small-64 small-128 medium-128]

Each arm trains the MLE stage (`music_gan.train.train_stage`, the code `music-gan train --stage mle` runs) from
the same seed on the same token cache for `--minutes` of wall-clock time (evaluation excluded: the only validation
pass is the one at the end), then measures the validation NLL per token with its own evaluation memory. Arms run
one after the other (never two trainings at once on a small machine); an arm whose result is already in
`RUNS/<arm>/result.json` is not trained again. Each arm's run folder (`RUNS/<arm>/mle`) is a normal resumable
run: `music_gan.gan.train_all(..., out=RUNS/<arm>, resume=True)` carries the chosen one on through the three stages.

A short budget favours a small model (it takes more steps in the same time); the table is a comparison at that
budget, not a prediction of which arm wins at ten times the budget.
"""
import argparse, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

# name: overrides of the tiny preset (the optimiser and schedule are the same for every arm)
ARMS = {
    'small-64':   {'generator.n_layer': 4, 'generator.d_model': 192, 'generator.n_head': 6, 'generator.d_inner': 384,
                   'generator.tgt_len': 64, 'generator.mem_len': 128, 'generator.eval_mem_len': 256},   # the size bundled until now
    'small-128':  {'generator.n_layer': 4, 'generator.d_model': 192, 'generator.n_head': 6, 'generator.d_inner': 384,
                   'generator.tgt_len': 128, 'generator.mem_len': 256, 'generator.eval_mem_len': 512},  # the same, twice the length
    'medium-128': {'generator.n_layer': 6, 'generator.d_model': 256, 'generator.n_head': 8, 'generator.d_inner': 768,
                   'generator.tgt_len': 128, 'generator.mem_len': 256, 'generator.eval_mem_len': 512},  # larger, same length
}
SCHEDULE = {'train.lr': 1e-3, 'train.warmup': 500, 'train.eval_interval': 10**9, 'train.log_interval': 50}


def arm_config(name: str):
    "The tiny preset with the arm's size and the common schedule."
    from music_gan.config import preset
    return preset('tiny').override(**ARMS[name], **SCHEDULE)


def run_arm(name: str, data, out: Path, seconds: float) -> dict:
    "Train one arm for `seconds` of training time, then validate once; the result, also written to `out/result.json`."
    from music_gan.train import train_stage
    done = out / 'result.json'
    if done.exists(): return json.loads(done.read_text())
    clock = {}
    def start(t, **_): clock['t0'] = time.perf_counter()
    def step(t, **_):
        if time.perf_counter() - clock['t0'] >= seconds: t.request_stop()
    trainer = train_stage(arm_config(name), data, 'mle', out / 'mle', max_steps=10**9, callbacks={'start': [start], 'step': [step]})
    trained = time.perf_counter() - clock['t0']
    nll = trainer.evaluate()['validation_nll']
    trainer.save()                                                   # the validation pass is in the log now
    result = {'arm': name, 'params': sum(p.numel() for p in trainer.model.parameters()), 'steps': trainer.step,
              'seconds': round(trained, 1), 'validation_nll': round(float(nll), 4), **ARMS[name]}
    done.write_text(json.dumps(result, indent=1))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='a prepared token cache (music-gan prepare)')
    ap.add_argument('--out', required=True, help='a folder for the arms\' runs')
    ap.add_argument('--minutes', type=float, default=10.0, help='training time per arm')
    ap.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    args = ap.parse_args()
    rows = []
    for name in args.arms:
        r = run_arm(name, args.data, Path(args.out) / name, args.minutes * 60)
        g = lambda k: r[f'generator.{k}']
        rows.append([name, f"{g('n_layer')}×{g('d_model')}", f"{g('tgt_len')}/{g('mem_len')}/{g('eval_mem_len')}", f"{r['params']:,}",
                     f"{r['steps']:,}", f"{r['seconds']:.0f}", f"{r['validation_nll']:.3f}"])
        print(f"{name}: {r['steps']} steps in {r['seconds']:.0f} s, validation NLL {r['validation_nll']:.3f}", flush=True)
    print(f"\nMLE at {args.minutes:g} min of training each on {args.data}; {machine()}\n")
    print(table(['arm', 'layers × width', 'segment/memory/eval memory', 'parameters', 'steps', 'training s', 'validation NLL'], rows))


if __name__ == '__main__':
    main()
