"""Preparing the default corpus: from scratch, then again (everything already done).

    python benchmarks/prepare.py [--workers 2]

Target: from scratch in under 5 minutes on a 2-core machine; the second run in seconds.
music21's parse cache lives under $TMPDIR/music21; the script points TMPDIR at a fresh folder so the
first run really starts cold.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--corpus', default='bach')
    ap.add_argument('--file-seconds', type=float, default=120.0, help='longest time a score file may take to read (skipped past it)')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ['TMPDIR'] = tmp; tempfile.tempdir = None   # cold music21 parse cache
        from music_gan.data import prepare
        rows = []
        for run in ('from scratch', 'second run'):
            t = time.perf_counter()
            s = prepare(args.corpus, Path(tmp) / 'cache', workers=args.workers, file_seconds=args.file_seconds, progress=False)
            dt = time.perf_counter() - t
            rows.append([run, f"{dt:.2f}", s.new_entries, s.done_before, f"{sum(s.pieces.values()):,}",
                         f"{sum(s.tokens.values()):,}", f"{s.seconds_of_music / 3600:.2f}", s.skipped])
    print(f"\nprepare {args.corpus} with {args.workers} workers on {machine()}\n")
    print(table(['run', 'seconds', 'files read', 'already done', 'pieces', 'tokens', 'hours', 'skipped'], rows))


if __name__ == '__main__':
    main()
