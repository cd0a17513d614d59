"""Run every notebook in nbs/ and tutorials/ through nbdev_test, one test per notebook.

`nbdev_test` exits 0 and prints "No files were eligible for testing" when it
finds nothing, so each test also checks that nbdev_test reported completing
its notebook ("- Completed <path>", printed with --do_print).
Extra test flags (e.g. `slow`, `cuda`) come from $MUSIC_GAN_TEST_FLAGS.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NB_DIRS = ('nbs', 'tutorials')
TIMEOUT_S = 900
NBDEV_TEST = Path(sys.executable).parent / 'nbdev_test'


def _skipped(rel: Path) -> bool:
    "nbdev's own rule: names (of the file or any folder) starting with `_` or `.` are not notebooks to run."
    return any(part.startswith(('_', '.')) for part in rel.parts)


def find_notebooks(folder: str) -> list[Path]:
    "Notebooks under `folder` (relative to the repo root), sorted, as repo-relative paths."
    root = REPO_ROOT / folder
    if not root.is_dir(): return []
    return sorted(p.relative_to(REPO_ROOT) for p in root.rglob('*.ipynb')
                  if not _skipped(p.relative_to(root)))


NOTEBOOKS = [nb for d in NB_DIRS for nb in find_notebooks(d)]


def test_notebooks_found():
    "An empty discovery must fail, not pass vacuously."
    assert find_notebooks('nbs'), f'no notebooks found in {REPO_ROOT / "nbs"}'


def _completed(output: str, nb: Path) -> bool:
    "Did nbdev_test --do_print report `- Completed <nb>`?"
    prefix = '- Completed '
    return any(line.startswith(prefix) and Path(line[len(prefix):].strip()).resolve() == nb.resolve()
               for line in output.splitlines())


@pytest.fixture(scope='session')
def nb_tmpdir(tmp_path_factory) -> Path:
    "One TMPDIR for all notebooks of a run (music21 keeps its parse cache there)."
    return tmp_path_factory.mktemp('nbtmp')


@pytest.mark.parametrize('rel', NOTEBOOKS, ids=[str(p) for p in NOTEBOOKS])
def test_notebook(rel: Path, nb_tmpdir: Path):
    nb = REPO_ROOT / rel
    cmd = [str(NBDEV_TEST), '--path', str(nb), '--do_print']
    flags = os.environ.get('MUSIC_GAN_TEST_FLAGS', '').strip()
    if flags: cmd += ['--flags', flags]
    env = {**os.environ, 'IN_TEST': '1', 'TMPDIR': str(nb_tmpdir)}
    try:
        res = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
        err = (e.stderr or b'').decode(errors='replace') if isinstance(e.stderr, bytes) else (e.stderr or '')
        pytest.fail(f'{rel} did not finish within {TIMEOUT_S} s\n--- stdout ---\n{out}\n--- stderr ---\n{err}')
    report = f'$ {" ".join(cmd)}\n--- stdout ---\n{res.stdout}\n--- stderr ---\n{res.stderr}'
    assert res.returncode == 0, f'{rel} failed (exit {res.returncode})\n{report}'
    assert _completed(res.stdout, nb), f'nbdev_test did not report completing {rel}\n{report}'
