"""The installed `music-gan` console script works end to end (the notebook 26_cli tests `main()` in-process)."""
import json, shutil, subprocess, sys
from pathlib import Path

from music_gan.testing import write_midi_fixtures

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


# --- issue 13: interrupts, resume, and a fast --help (real subprocesses, real signals) ---
import os, re, shlex, signal, time

import pytest


def _wait_for(pred, proc, timeout=180):
    t0 = time.time()
    while not pred():
        if proc.poll() is not None: raise AssertionError(f"exited early ({proc.returncode}): {proc.communicate()}")
        if time.time() - t0 > timeout: proc.kill(); raise AssertionError('timed out')
        time.sleep(0.2)


def _logged_steps(run):
    "The steps of the `loss` rows in `run/log.csv` so far (a row being written is ignored)."
    rows = [r.split(',') for r in (run / 'log.csv').read_text().splitlines()[1:]] if (run / 'log.csv').exists() else []
    return [int(r[0]) for r in rows if len(r) == 3 and r[1] == 'loss' and r[2]]


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    from music_gan.data import prepare
    d = tmp_path_factory.mktemp('cache')
    write_midi_fixtures(d / 'midi', n_good=8)
    prepare(f'midi:{d}/midi', d / 'cache', workers=1, progress=False, max_seconds=3600)
    return d / 'cache'


def _like_a_terminal():
    "In the child: Ctrl-C's default action, as in a terminal. A job started with `&` from a script (CI run in the background)\n    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler."
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_step_and_the_printed_command_resumes(cache, tmp_path):
    "Ctrl-C: checkpoint at the current step, one line with the exact command, 130; that command resumes; SIGTERM: 143; no step logged twice."
    from music_gan.checkpoint import load_checkpoint
    run = tmp_path / 'run'
    cmd = [MUSIC_GAN, 'train', '--data', str(cache), '--out', str(run), '--max-steps', '100000', '--batch-size', '2', '--device', 'cpu',
           '--set', 'train.log_interval=1', 'train.eval_interval=100000']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_like_a_terminal, cwd=tmp_path)
    _wait_for(lambda: len(_logged_steps(run)) >= 3, p)
    os.killpg(p.pid, signal.SIGINT)                                   # as a terminal's Ctrl-C: the whole process group
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'Traceback' not in err, err
    last = err.strip().splitlines()[-1]
    m = re.fullmatch(r"music-gan train: stopped at mle step (\d+); checkpoint (\S+); continue with: (music-gan train .*)", last)
    assert m and '--resume' in m[3], last
    step = int(m[1])
    assert load_checkpoint(run).step == step >= 3 and _logged_steps(run)[-1] == step and m[2] == str(run / 'checkpoint')
    again = shlex.split(m[3]); again[0] = MUSIC_GAN
    p = subprocess.Popen(again, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_like_a_terminal, cwd=tmp_path)
    _wait_for(lambda: len(_logged_steps(run)) >= step + 3, p)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 143 and 'Traceback' not in err and 'stopped at mle step' in err.strip().splitlines()[-1], err
    steps = _logged_steps(run)
    assert steps == list(range(1, steps[-1] + 1)) and load_checkpoint(run).step == steps[-1] > step + 2


def test_ctrl_c_during_prepare_keeps_what_is_done(tmp_path):
    "Ctrl-C to the process group (workers too): no traceback, one line, 130; the files finished stay in the journal."
    cmd = [MUSIC_GAN, 'prepare', '--corpus', 'bach', '--limit', '400', '--workers', '2', '--out', str(tmp_path / 'bach')]   # enough to be still reading when Ctrl-C comes, even with music21's parse cache warm
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_like_a_terminal)
    journal = tmp_path / 'bach/journal.jsonl'
    _wait_for(lambda: journal.exists() and len(journal.read_text().splitlines()) >= 2, p)
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    done = len(journal.read_text().splitlines())
    assert p.returncode == 130 and 'Traceback' not in out + err and 'KeyboardInterrupt' not in err, err
    assert err.strip().splitlines()[-1].startswith(f'music-gan prepare: interrupted: the {done} files finished are kept'), err
    assert 2 <= done < 400                                            # kept; the next run reads only the rest (04_data tests that)


def test_help_is_fast_and_imports_no_torch():
    "`music-gan --help` imports neither torch nor music21, and answers well under a second (1.5 s allowed on a loaded CI)."
    res = subprocess.run([sys.executable, '-c', "import sys, music_gan.cli as c\ntry: c.main(['--help'])\nexcept SystemExit: pass\n"
                          "print('torch' in sys.modules, 'music21' in sys.modules, 'numpy' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().endswith('False False False'), res.stdout
    t0 = time.perf_counter()
    res = subprocess.run([MUSIC_GAN, '--help'], capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - t0
    print(f"music-gan --help: {took:.2f} s")
    assert res.returncode == 0 and 'COMMAND' in res.stdout and took < 1.5, took


def test_front_door():
    "Every name of `music_gan`'s front door resolves to its module's object; `import music_gan` alone imports no torch."
    import importlib, music_gan
    assert sorted(music_gan.__all__) == sorted(music_gan._LAZY) and len(music_gan.__all__) >= 11
    for name, mod in music_gan._LAZY.items():
        assert getattr(music_gan, name) is getattr(importlib.import_module(f'music_gan.{mod}'), name), name
    res = subprocess.run([sys.executable, '-c', "import sys, music_gan; print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'ipywidgets') "
                          "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == '[]', res.stdout + res.stderr


def test_top_k_flags_and_their_old_spellings():
    "`--top-k/--top-p` are make_sampler's names; the old `--k/--p` still parse (hidden from --help)."
    from music_gan.cli import parser
    for cmd in (['sample', '--ckpt', 'x'], ['evaluate', '--data', 'x']):
        new, old = parser().parse_args([*cmd, '--top-k', '5', '--top-p', '0.5']), parser().parse_args([*cmd, '--k', '5', '--p', '0.5'])
        assert (new.top_k, new.top_p) == (old.top_k, old.top_p) == (5, 0.5)
    res = subprocess.run([MUSIC_GAN, 'sample', '--help'], capture_output=True, text=True, timeout=60)
    assert '--top-k' in res.stdout and not re.search(r'--[kp]\b', res.stdout), res.stdout
