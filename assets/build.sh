#!/usr/bin/env bash
# Rebuilds everything in assets/ with the kit's own commands (CPU: about 2 hours on 2 cores, half an hour of it preparing the corpus).
# Run from the repository root with the kit installed: bash assets/build.sh
set -euo pipefail
MG=${MG:-music-gan}
DATA=${DATA:-runs/classical-data}
RUNS=${RUNS:-runs/assets}
$MG prepare --corpus music21:classical --out "$DATA"
# The generator's size and length: the arm `small-64` of benchmarks/model_size.py, the best validation NLL of the three arms
# at an equal training time (9 min each; assets/README.md). Its first 9 minutes were that arm's run: to reuse it, run
#   python benchmarks/model_size.py --data "$DATA" --out runs/sizes --minutes 9 --arms small-64 && cp -r runs/sizes/small-64/mle "$RUNS/mle"
# first; without it the MLE stage simply starts from step 0 (the same schedule, the same steps).
# Then the three stages through music_gan.gan.train_all, the one place the kit wires them together: MLE (30,000 steps),
# SpanBERT pre-training of the discriminator (1,000), then the GAN (200 GAN steps) and its fair baseline (the same
# cycles with the adversarial step left out), in "$RUNS/mle", "$RUNS/mlm", "$RUNS/gan", "$RUNS/baseline". The GAN stage
# continues the MLE run (its step, optimiser and learning-rate schedule, read from its checkpoint); adversarial rate: half
# the MLE rate with a 20-step warm-up, then inverse-sqrt decay (the tiny preset). An interrupted build resumes where it stopped.
python - "$DATA" "$RUNS" <<'PY'
import signal, sys
from music_gan.config import preset
from music_gan.gan import train_all
from music_gan.progress import progress_bar

STOPPED = []

def progress(desc:str, total:int, event:str='step') -> dict:
    "Callbacks drawing a progress bar of `event`s on stderr; SIGTERM asks the running stage to stop and save (rerun to resume)."
    bar = {}
    count = (lambda t: t.gan_step) if event == 'gan_step' else (lambda t: t.step)
    def start(t, **_):
        signal.signal(signal.SIGTERM, lambda *_: (STOPPED.append(True), t.request_stop()))
        bar['b'] = progress_bar(total, desc, unit='steps', initial=min(count(t), total), every=5)
    def tick(t, **_): bar['b'].update(1)
    def end(t, **_): bar.pop('b').close()
    return {'start': [start], event: [tick], 'end': [end]}

data, runs = sys.argv[1], sys.argv[2]
sys.path.insert(0, 'benchmarks')
from model_size import arm_config                 # the tiny preset, the arm's size, lr 1e-3, warmup 500
steps = {'mle': 30_000, 'mlm': 1000, 'gan': 200}
train_all(arm_config('small-64'), data, runs, mle_steps=steps['mle'], mlm_steps=steps['mlm'], gan_steps=steps['gan'], baseline=True,
          resume=True, overrides={'mle': {'train.eval_interval': 5000, 'train.log_interval': 50},
                                  'gan': {'train.eval_interval': 500, 'train.log_interval': 10}},
          callbacks={'mle': progress('mle', steps['mle']), 'mlm': progress('mlm', steps['mlm']), 'gan': progress('gan', steps['gan'], 'gan_step')})
if STOPPED: sys.exit('build.sh: stopped by SIGTERM after saving a checkpoint; run it again to resume')
PY
$MG export --ckpt "$RUNS/mle" --out assets/model_mle
$MG export --ckpt "$RUNS/gan" --out assets/model_gan

# primes: the first 10 s of three chorales of the corpus' test split (never trained on)
python - "$DATA" <<'PY'
import sys, numpy as np
from pathlib import Path
from music_gan.data import TokenCache
from music_gan.events import Notes, notes_to_midi
cache = TokenCache(sys.argv[1])
ids = ['bach/bwv117.4.mxl', 'bach/bwv128.5.mxl', 'bach/bwv157.5.mxl']    # test-split chorales, the primes bundled since the start
test = [r for r in cache.manifest()['pieces'] if r['id'] in ids and r['split'] == 'test']
assert [r['id'] for r in test] == ids, test
for i, rec in enumerate(test):
    notes = Notes.from_array(np.load(Path(sys.argv[1]) / rec['notes']))
    keep = notes.take(np.nonzero(notes.start < 10)[0])
    keep = Notes(keep.start, np.minimum(keep.end, 10.0), keep.pitch, keep.velocity)
    path = Path('assets') / ('prime.mid' if i == 0 else f'prime_{i + 1}.mid')
    notes_to_midi(keep).write(str(path))
    print(f"{path}: first 10 s of {rec['id']}")
PY

# samples: 10 s prime + 20 s continuation from each model, MIDI and WAV
for m in mle gan; do
  $MG sample --ckpt assets/model_$m --prime assets/prime.mid --prime-seconds 10 --seconds 20 --n 1 --seed 0 \
      --out assets/samples --name $m --device cpu
done
