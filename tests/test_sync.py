"""Notebooks and the generated package must agree, and notebooks must be clean.

In a temporary copy of the checkout (tracked files plus untracked files git
does not ignore), run `nbdev_export` then `nbdev_clean`; any file under
music_gan/, nbs/ or tutorials/ that this changes, and any file export creates
under music_gan/, means the commit is out of sync.
"""
import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKED = ('music_gan', 'nbs', 'tutorials')
# used only without git: what .gitignore keeps out of a commit
IGNORED_DIRS = {'.git', '.venv', '.venv-ci', '_docs', '_proc', '__pycache__', '.ipynb_checkpoints',
                '.hypothesis', '.pytest_cache', 'build', 'dist', '.tmp', '.whl', '.gl'}
IGNORED_TOP = {'data', 'runs'}


def _git_files(root: Path) -> list[str] | None:
    "Tracked plus untracked-but-not-ignored files, or None when git or a checkout is missing."
    def ls(*args):
        out = subprocess.run(['git', 'ls-files', '-z', *args], cwd=root, capture_output=True, check=True).stdout
        return [f for f in out.decode().split('\0') if f]
    try:
        top = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=root, capture_output=True, text=True, check=True)
        if Path(top.stdout.strip()).resolve() != root.resolve(): return None
        return sorted(set(ls()) | set(ls('--others', '--exclude-standard')))
    except (OSError, subprocess.CalledProcessError):
        return None


def _walk_files(root: Path) -> list[str]:
    "Fallback without git: every file except the ignored folders."
    res = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS and not d.endswith('.egg-info')
                       and not (rel == Path('.') and d in IGNORED_TOP)]
        res += [str(rel / f) for f in filenames]
    return sorted(res)


def _run(cmd: list[str], cwd: Path):
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # nbdev_export does nothing when IN_TEST is set
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f'{" ".join(cmd)} failed (exit {res.returncode})\n{res.stdout}\n{res.stderr}'


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for d in CHECKED if (root / d).is_dir()
            for p in (root / d).rglob('*') if p.is_file() and '__pycache__' not in p.parts}


def test_notebooks_and_package_in_sync(tmp_path):
    files = _git_files(REPO_ROOT)
    if files is None: files = _walk_files(REPO_ROOT)
    copy = tmp_path / 'repo'
    for f in files:
        src = REPO_ROOT / f
        if not src.is_file(): continue  # tracked but deleted in the work tree
        (copy / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, copy / f)
    assert (copy / 'settings.ini').is_file(), 'settings.ini was not copied'

    _run([str(BIN / 'nbdev_export')], copy)
    _run([str(BIN / 'nbdev_clean')], copy)
    if any((copy / 'tutorials').rglob('*.ipynb')): _run([str(BIN / 'nbdev_clean'), '--fname', 'tutorials'], copy)

    original = {f for f in files if (REPO_ROOT / f).is_file() and Path(f).parts[0] in CHECKED}
    after = _files_under(copy)
    problems = [f'  created: {f}' for f in sorted(after - original)]
    problems += [f'  removed: {f}' for f in sorted(original - after)]
    problems += [f'  changed: {f}' for f in sorted(after & original)
                 if not filecmp.cmp(copy / f, REPO_ROOT / f, shallow=False)]
    assert not problems, ('nbdev_export / nbdev_clean would change these files:\n' + '\n'.join(problems) +
                          '\nrun nbdev_export && nbdev_clean (and nbdev_clean --fname tutorials) and commit')
