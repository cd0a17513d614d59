"""The copy check's cost on a token cache: building the index of the training split, and querying it.

    python benchmarks/copycheck.py [--data data/bach] [--queries 20] [--repeat 3]

Build: `CopyIndex.build` of every training piece (in memory; `CopyIndex.for_cache` also writes it to the cache).
Build + write: `CopyIndex.for_cache(rebuild=True)`, reading the notes from the cache. Read: `CopyIndex.for_cache` loading the saved `copycheck.npz`. Query: `longest_copy` of held-out pieces (their first
30 s, as in the evaluation) and of training pieces (whole, the worst case: every run of the piece is a hit in itself).
Best of --repeat runs each. Prepare the default corpus first: `music-gan prepare --corpus bach --out data/bach`.
"""
import argparse, sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table
from music_gan.copycheck import K, CopyIndex
from music_gan.data import TokenCache


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='data/bach', help='a token cache (music-gan prepare --out)')
    ap.add_argument('--queries', type=int, default=20)
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    cache = TokenCache(a.data)
    train = [p for p in cache.pieces('train', notes=True) if p.notes is not None]
    held = [p for p in cache.pieces('test', notes=True) or cache.pieces('validation', notes=True) if p.notes is not None][:a.queries]
    n_notes = sum(len(p.notes) for p in train)
    build_s = best_of(lambda: CopyIndex.build(train), a.repeat)
    write_s = best_of(lambda: CopyIndex.for_cache(cache, rebuild=True), a.repeat)   # reads the notes from the cache, builds, writes
    index = CopyIndex.for_cache(cache)
    read_s = best_of(lambda: CopyIndex.for_cache(cache), a.repeat)
    clip = lambda n: n.take(n.start < 30.0)
    rows = [['build (in memory)', f"{len(train)} pieces, {n_notes:,} notes", f"{build_s:.3f}", f"{n_notes / build_s:,.0f} notes/s", '-'],
            ['build from the cache + write', 'notes read from disk', f"{write_s:.3f}", '-', '-'],
            ['read copycheck.npz', f"{len(index.keys):,} keys, {(Path(a.data) / 'copycheck.npz').stat().st_size / 2**20:.1f} MiB", f"{read_s:.3f}", '-', '-']]
    for what, pieces in (('query: held-out, first 30 s', [clip(p.notes) for p in held]), ('query: training piece, whole', [p.notes for p in train[:a.queries]])):
        s = best_of(lambda: [index.longest_copy(n) for n in pieces], a.repeat)
        found = [index.longest_copy(n).notes for n in pieces]
        rows.append([what, f"{len(pieces)} pieces, {sum(len(n) for n in pieces):,} notes", f"{s:.3f}", f"{s / len(pieces) * 1000:.1f} ms/piece",
                     f"mean {np.mean(found):.1f}, max {max(found)}"])
    print(f"copy check on {a.data} (K = {K} symbols: copies of {K + 1} notes and more), {machine()}; best of {a.repeat}\n")
    print(table(['step', 'size', 'seconds', 'rate', 'longest copy (notes)'], rows))


if __name__ == '__main__':
    main()
