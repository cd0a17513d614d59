"""The installed `music-gan` console script works end to end (the notebook 14_cli tests `main()` in-process)."""
import json, shutil, subprocess, sys
from pathlib import Path

from music_gan.data import write_midi_fixtures

MUSIC_GAN = shutil.which('music-gan', path=str(Path(sys.executable).parent))


def test_console_script_is_installed():
    assert MUSIC_GAN, f"no music-gan script beside {sys.executable}: is the package installed (pip install -e .)?"


def test_prepare_from_the_shell(tmp_path):
    write_midi_fixtures(tmp_path / 'midi', n_good=3)
    cmd = [MUSIC_GAN, 'prepare', '--corpus', f'midi:{tmp_path}/midi', '--out', str(tmp_path / 'cache'),
           '--workers', '2', '--no-progress', '--max-seconds', '3600']
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert '3 pieces' in first.stdout and '6 skipped' in first.stdout, first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and '0 files read now, 9 already done' in second.stdout, second.stdout
    assert len(json.loads((tmp_path / 'cache' / 'manifest.json').read_text())['pieces']) == 3


def test_bad_corpus_is_one_clear_line(tmp_path):
    res = subprocess.run([MUSIC_GAN, 'prepare', '--corpus', f'midi:{tmp_path}/missing'], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 2
    assert not (tmp_path / 'data').exists(), 'a failed prepare must not create its cache folder'
    assert res.stderr.strip().startswith('music-gan prepare: error:') and 'no such folder' in res.stderr
    assert 'Traceback' not in res.stderr
