"""Table 2 music metrics: time to measure a corpus of 30 s pieces with corpus_metrics.

    python benchmarks/metrics.py [--pieces 1000] [--seconds 30] [--workers 1 2] [--repeat 3]

The pieces are random but piano-like (seed 0): onsets at about 9 notes per second, a third of them
struck as two- to four-note chords, pitches on a random walk around middle C, durations up to 2 s.
Each piece is encoded to tokens, the form generated music arrives in, and measured with
clip_seconds=30 from four inputs: tokens (decoded inside), events.Notes, pretty_midi.PrettyMIDI, and
MIDI file bytes (parsed by pretty_midi inside, as a training set on disk is). Times are the best of
--repeat runs, for all pieces. Target: 1,000 generated pieces (tokens) of 30 s in under 60 s on 2 cores.
"""
import argparse, sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table
from music_gan.events import EventCodec, Notes, midi_bytes, notes_to_midi
from music_gan.metrics import METRICS, corpus_metrics, summarize


def random_piece(rng: np.random.Generator, seconds: float = 30.0, rate: float = 9.0) -> Notes:
    "A random piano-like piece of `seconds`: onsets at `rate` notes/s, chords, a pitch random walk."
    n_onsets = rng.poisson(rate * seconds / 1.6)
    onset = np.sort(rng.uniform(0, seconds, n_onsets))
    size = np.where(rng.random(n_onsets) < 1 / 3, rng.integers(2, 5, n_onsets), 1)      # notes per onset
    start = np.repeat(onset, size)
    root = np.clip(60 + np.cumsum(rng.integers(-4, 5, n_onsets)) // 2, 36, 96)           # a wandering melody
    offset = np.concatenate([np.sort(rng.choice(np.arange(-12, 13), k, replace=False)) for k in size]) if n_onsets else np.zeros(0)
    pitch = np.clip(np.repeat(root, size) + offset, 21, 108)
    end = start + np.minimum(rng.exponential(0.4, len(start)) + 0.05, 2.0)
    return Notes(start, end, pitch, rng.integers(30, 110, len(start)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pieces', type=int, default=1000)
    ap.add_argument('--seconds', type=float, default=30.0)
    ap.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    rng, codec = np.random.default_rng(0), EventCodec()
    tokens = [codec.encode_notes(random_piece(rng, a.seconds)) for _ in range(a.pieces)]
    notes = [codec.decode_notes(t) for t in tokens]          # the notes the tokens hold (10 ms grid)
    midis = [notes_to_midi(n) for n in notes]
    files = [midi_bytes(pm) for pm in midis]
    n_notes, n_tokens = sum(map(len, notes)), sum(map(len, tokens))
    rows = []
    for name, pieces in (('tokens', tokens), ('Notes', notes), ('PrettyMIDI', midis), ('MIDI bytes', files)):
        for w in a.workers:
            t = best_of(lambda: corpus_metrics(pieces, clip_seconds=a.seconds, workers=w), a.repeat)
            rows.append([name, w, f"{len(pieces):,}", f"{t:.2f}", f"{len(pieces) / t:,.0f}", f"{1e3 * t / len(pieces):.2f}"])
    s = summarize(corpus_metrics(tokens, clip_seconds=a.seconds))
    print(f"metrics benchmark on {machine()}; best of {a.repeat} runs")
    print(f"{a.pieces:,} random pieces of {a.seconds:g} s: {n_notes:,} notes ({n_notes / a.pieces:.0f} per piece), "
          f"{n_tokens:,} tokens; clip_seconds={a.seconds:g}\n")
    print(table(['input', 'workers', 'pieces', 'seconds (all pieces)', 'pieces/s', 'ms/piece'], rows))
    print("\nmean ± std over the pieces (a sanity check of the random pieces, not a reference):")
    print(table(list(METRICS), [[f"{s.mean[k]:.3g} ± {s.std[k]:.2g}" for k in METRICS]]))


if __name__ == '__main__':
    main()
