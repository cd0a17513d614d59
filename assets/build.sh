#!/usr/bin/env bash
# Rebuilds everything in assets/ with the kit's own commands (CPU, about 15 minutes on 2 cores).
# Run from the repository root with the kit installed: bash assets/build.sh
set -euo pipefail
MG=${MG:-music-gan}
DATA=${DATA:-runs/bach-data}
RUNS=${RUNS:-runs/assets}
# the tiny preset with a larger generator: 4 layers, width 192, 6 heads, inner 384, segments of 64, memory 128
SIZE="generator.n_layer=4 generator.d_model=192 generator.n_head=6 generator.d_inner=384 generator.tgt_len=64 generator.mem_len=128 generator.eval_mem_len=256"

$MG prepare --corpus bach --out "$DATA"
$MG train --preset tiny --data "$DATA" --stage mle --out "$RUNS/mle" --max-steps 6000 \
    --set $SIZE train.eval_interval=500 train.log_interval=50 train.warmup=200
$MG train --preset tiny --data "$DATA" --stage mlm --out "$RUNS/mlm" --max-steps 1000 --set $SIZE
# the GAN stage continues the MLE run (its step, optimiser and learning-rate schedule: lr 1e-3, warmup 200, read from its
# checkpoint); adversarial rate: half the MLE rate (5e-4) with a 20-step warm-up, then inverse-sqrt decay (the tiny preset)
$MG train --preset tiny --data "$DATA" --stage gan --out "$RUNS/gan" --max-steps 150 \
    --init-generator "$RUNS/mle/checkpoint.pt" --init-discriminator "$RUNS/mlm/checkpoint.pt" --set $SIZE
$MG export --ckpt "$RUNS/mle/checkpoint.pt" --out assets/model_mle.pt
$MG export --ckpt "$RUNS/gan/gan_checkpoint.pt" --out assets/model_gan.pt

# primes: the first 10 s of three chorales of the corpus' test split (never trained on)
python - "$DATA" <<'PY'
import sys, numpy as np
from pathlib import Path
from music_gan.data import TokenCache
from music_gan.events import Notes, notes_to_midi
cache = TokenCache(sys.argv[1])
test = [r for r in cache.manifest()['pieces'] if r['split'] == 'test' and r['duration'] > 25][:3]
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
  $MG sample --ckpt assets/model_$m.pt --prime assets/prime.mid --prime-seconds 10 --seconds 20 --n 1 --seed 0 \
      --out assets/samples --name $m --device cpu
done
