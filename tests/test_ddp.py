"""Distributed training: `torchrun --nproc_per_node 2` (gloo, CPU) gives the losses of one process on the same global batch."""
import csv, os, shutil, subprocess, sys
from pathlib import Path

import pytest

from music_gan.data import TokenCache
from music_gan.sources import MidiFolderSource
from music_gan.testing import write_midi_fixtures

BIN = Path(sys.executable).parent


def losses(run: Path) -> list[float]:
    with open(run / 'log.csv', newline='') as f:
        return [float(r['value']) for r in csv.DictReader(f) if r['name'] == 'loss']


def test_two_processes_match_one(tmp_path):
    write_midi_fixtures(tmp_path / 'midi', n_good=12)
    TokenCache(tmp_path / 'cache').build(MidiFolderSource(str(tmp_path / 'midi')), workers=1, progress=False, max_seconds=3600)
    common = ['train', '--preset', 'tiny', '--data', str(tmp_path / 'cache'), '--stage', 'mle', '--max-steps', '6',
              '--batch-size', '4', '--device', 'cpu',
              '--set', 'generator.dropout=0.0', 'train.log_interval=1', 'train.eval_interval=1000', 'train.warmup=2']
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    env.pop('WORLD_SIZE', None)
    one = subprocess.run([str(BIN / 'music-gan'), *common, '--out', str(tmp_path / 'one')],
                         capture_output=True, text=True, timeout=600, env=env)
    assert one.returncode == 0, one.stdout + one.stderr
    two = subprocess.run([str(BIN / 'torchrun'), '--standalone', '--nproc_per_node', '2', str(BIN / 'music-gan'), *common,
                          '--out', str(tmp_path / 'two')], capture_output=True, text=True, timeout=600, env=env)
    assert two.returncode == 0, two.stdout + two.stderr
    a, b = losses(tmp_path / 'one'), losses(tmp_path / 'two')
    assert len(a) == len(b) == 6, (a, b)
    assert a[-1] < a[0], a                                  # it trained
    for x, y in zip(a, b):
        assert abs(x - y) <= 1e-4 * abs(x), (a, b)          # the same updates, up to the all-reduce's summation order
