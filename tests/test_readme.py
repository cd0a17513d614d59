"""README, .ci/run and nbs/index.ipynb must show the same test command."""
import json
import re

import pytest


@pytest.fixture(scope='module')
def ci_command(repo_root) -> str:
    "The command .ci/run runs, read from its `TEST_CMD='...'` line."
    m = re.search(r"^TEST_CMD='([^']+)'$", (repo_root / '.ci' / 'run').read_text(), re.MULTILINE)
    assert m, ".ci/run must define the test command on one line as TEST_CMD='...'"
    return m.group(1)


def test_readme_has_ci_command(repo_root, ci_command):
    readme = (repo_root / 'README.md').read_text(encoding='utf-8')
    assert f'\n{ci_command}\n' in readme, f'README.md must show the command .ci/run runs, on its own line:\n{ci_command}'


def test_index_has_ci_command(repo_root, ci_command):
    nb = json.loads((repo_root / 'nbs' / 'index.ipynb').read_text(encoding='utf-8'))
    text = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown')
    assert f'\n{ci_command}\n' in text, f'nbs/index.ipynb must show the command .ci/run runs:\n{ci_command}'


def test_ci_runs_pytest(ci_command):
    assert ci_command.split(' && ')[-1].endswith('pytest')


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r'```bash\n(.*?)```', text, re.DOTALL)]


def test_index_commands_match_readme(repo_root):
    "The set-up commands shown in nbs/index.ipynb are the README's."
    nb = json.loads((repo_root / 'nbs' / 'index.ipynb').read_text(encoding='utf-8'))
    nb_blocks = _bash_blocks('\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown'))
    readme_blocks = _bash_blocks((repo_root / 'README.md').read_text(encoding='utf-8'))
    assert len(nb_blocks) == 2, nb_blocks
    for b in nb_blocks: assert b in readme_blocks, f'nbs/index.ipynb shows a command README.md lacks:\n{b}'


def _python_blocks(text: str) -> list[str]:
    return re.findall(r'```python\n(.*?)```', text, re.DOTALL)


def test_readme_starts_with_python_on_the_front_door(repo_root):
    "README's first code block is Python, and it imports from the front door only."
    readme = (repo_root / 'README.md').read_text(encoding='utf-8')
    assert re.search(r'```(\w+)\n', readme)[1] == 'python', 'the first code block of README.md must be the Python example'
    imports = re.findall(r'^(?:from|import) .*$', _python_blocks(readme)[0], re.MULTILINE)
    assert imports and all(i.startswith('from music_gan import ') for i in imports), imports


def test_readme_python_runs(repo_root, tmp_path):
    "README's Python example runs as shown, from a folder with the repository's `assets/`, and writes what it says."
    import subprocess, sys
    (tmp_path / 'assets').symlink_to(repo_root / 'assets')
    code = _python_blocks((repo_root / 'README.md').read_text(encoding='utf-8'))[0]
    res = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / 'continued.mid').stat().st_size > 100 and 'PCU=' in res.stdout, res.stdout


def _index_markdown(repo_root) -> str:
    nb = json.loads((repo_root / 'nbs' / 'index.ipynb').read_text(encoding='utf-8'))
    return '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown')


def test_the_map_lists_every_notebook(repo_root):
    "README and nbs/index.ipynb show the same map of the kit, and it names every notebook in nbs/, in reading order."
    index, readme = _index_markdown(repo_root), (repo_root / 'README.md').read_text(encoding='utf-8')
    table = re.search(r'^\| notebook \| module \| one idea \|\n(?:\|.*\n?)+', index, re.MULTILINE)[0].strip()
    assert table in readme, 'README.md must show the map of nbs/index.ipynb as it is'
    listed = re.findall(r'^\| `(\w+)` \| `([\w.]+)` \|', table, re.MULTILINE)
    notebooks = sorted(p.stem for p in (repo_root / 'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    assert [n for n, _ in listed] == sorted(notebooks, key=lambda n: (n == 'index', n)), listed
    for nb, mod in listed:                                  # each notebook exports the module the map says
        cells = json.loads((repo_root / 'nbs' / f'{nb}.ipynb').read_text(encoding='utf-8'))['cells']
        want = '__init__' if nb == 'index' else mod
        assert any(f'#| default_exp {want}' in ''.join(c['source']) for c in cells), (nb, mod)
