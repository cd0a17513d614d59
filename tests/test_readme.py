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
