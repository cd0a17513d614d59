"""Codec speed: encode and decode throughput beside the time pretty_midi takes to parse the same files.

    python benchmarks/codec.py [--cache data/bach] [--repeat 5]

Two data sets: the default corpus (Bach, from a token cache; built in a temp folder when --cache is not
given) with every piece written as a MIDI file, and a synthetic one-hour piano piece of 100k notes.
For each: the time pretty_midi takes to parse the MIDI bytes, then the codec's own work on the parsed
file: midi_to_notes (read notes, apply pedal), encode (notes -> tokens) and decode (tokens -> notes ->
PrettyMIDI). Times are the best of --repeat runs. Target: encode + decode cost less than parsing.
"""
import argparse, sys, tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table
from music_gan.data import TokenCache, prepare
from music_gan.sources import SPLITS
from music_gan.events import EventCodec, Notes, load_midi, midi_bytes, midi_to_notes, notes_to_midi


def synthetic_piece(n_notes=100_000, seconds=3600.0, seed=0) -> Notes:
    "A dense random piano piece: `n_notes` notes over `seconds`, pitches 21..108."
    rng = np.random.default_rng(seed)
    start = np.sort(rng.uniform(0, seconds, n_notes))
    return Notes(start, start + rng.uniform(0.05, 1.5, n_notes), rng.integers(21, 109, n_notes), rng.integers(20, 120, n_notes))


def measure(name: str, files: list, codec: EventCodec, repeat: int) -> list:
    "One table row: parse, midi->notes, encode, decode over all `files` (MIDI bytes)."
    parsed = [load_midi(b) for b in files]
    notes = [midi_to_notes(pm) for pm in parsed]
    tokens = [codec.encode_notes(n) for n in notes]
    n_tok, n_notes = sum(map(len, tokens)), sum(map(len, notes))
    t_parse = best_of(lambda: [load_midi(b) for b in files], repeat)
    t_notes = best_of(lambda: [midi_to_notes(pm) for pm in parsed], repeat)
    t_enc = best_of(lambda: [codec.encode_notes(n) for n in notes], repeat)
    t_dec = best_of(lambda: [codec.decode(t) for t in tokens], repeat)
    return [name, f"{len(files):,}", f"{n_notes:,}", f"{n_tok:,}", f"{t_parse:.3f}", f"{t_notes:.3f}", f"{t_enc:.3f}",
            f"{t_dec:.3f}", f"{(t_enc + t_dec) / t_parse:.2f}", f"{n_tok / t_enc / 1e6:.1f} M", f"{n_tok / t_dec / 1e6:.1f} M"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cache', default=None, help='a prepared cache of the default corpus (else one is built in a temp folder)')
    ap.add_argument('--repeat', type=int, default=5)
    args = ap.parse_args()
    codec = EventCodec()
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache or (prepare('bach', Path(tmp) / 'bach', progress=False) and Path(tmp) / 'bach')
        cache = TokenCache(cache_dir, codec)
        bach = [midi_bytes(notes_to_midi(p.notes)) for s in SPLITS for p in cache.pieces(s, notes=True)]
        rows = [measure('default corpus (bach)', bach, codec, args.repeat),
                measure('synthetic 100k-note piece', [midi_bytes(notes_to_midi(synthetic_piece()))], codec, args.repeat)]
    print(f"codec benchmark on {machine()}; best of {args.repeat} runs; seconds for all files of the row\n")
    print(table(['data', 'files', 'notes', 'tokens', 'parse (pretty_midi)', 'midi→notes', 'encode', 'decode',
                 '(enc+dec)/parse', 'encode events/s', 'decode events/s'], rows))


if __name__ == '__main__':
    main()
