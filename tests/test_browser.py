"""A person's view of the quick start: JupyterLab in headless Chromium runs tutorials/01_quickstart.ipynb.

Starts JupyterLab on 127.0.0.1 (a free port, a random token, fresh temporary config, data, runtime and
settings folders) serving a temporary copy of `tutorials/` and `assets/`, so nothing in the checkout is
written. Playwright drives the OS's Chromium (`executable_path`; no browser download): open the
notebook, wait for the kernel, Run → Run All Cells, then assert what a person would see: the sample
player's <audio> element with a WAV source, its piano-roll image, and one more sample in the player's
list after pressing Generate. A screenshot is saved to .tmp/artifacts/browser_quickstart.png.

Chromium or Playwright missing: skipped with the reason, except under CI (CI=true), where it fails.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import secrets
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = 'tutorials/01_quickstart.ipynb'
ARTIFACTS = REPO_ROOT / '.tmp' / 'artifacts'
CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage']


def _chromium() -> str | None:
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if path := shutil.which(name): return path
    return None


def _missing(reason: str):
    "Fail under CI, skip (with the reason shown) elsewhere."
    if os.environ.get('CI'): pytest.fail(f'{reason} (CI must install it: see .ci/run)')
    print(f'test_browser skipped: {reason}', file=sys.stderr)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on a copy of tutorials/ and assets/; yields (base url, token); stopped afterwards."
    root = tmp_path / 'root'
    for folder in ('tutorials', 'assets'):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    env = dict(os.environ)
    for var, sub in (('JUPYTER_CONFIG_DIR', 'config'), ('JUPYTER_DATA_DIR', 'data'), ('JUPYTER_RUNTIME_DIR', 'runtime'),
                     ('IPYTHONDIR', 'ipython')):
        env[var] = str(tmp_path / sub)
    env.pop('IN_TEST', None)
    news = tmp_path / 'settings' / '@jupyterlab' / 'apputils-extension' / 'notification.jupyterlab-settings'
    news.parent.mkdir(parents=True); news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}', '--ip=127.0.0.1',
           f'--ServerApp.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.port_retries=0',
           f'--LabApp.user_settings_dir={tmp_path / "settings"}', f'--LabApp.workspaces_dir={tmp_path / "workspaces"}',
           '--ServerApp.disable_check_xsrf=False']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path / 'jupyterlab.log', 'w')
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f'JupyterLab did not start:\n{(tmp_path / "jupyterlab.log").read_text()[-3000:]}')
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(proc.pid, 15)
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, 9); proc.wait()
        log.close()


def test_quickstart_in_a_real_browser(lab):
    chromium = _chromium()
    if chromium is None: _missing('Chromium is not installed (apt-get install chromium)')
    try: from playwright.sync_api import sync_playwright, TimeoutError as PlaywrightTimeout
    except ImportError: _missing('Playwright is not installed (pip install playwright; no browser download needed)')
    base, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / 'browser_quickstart.png'
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'{base}/lab/tree/{NOTEBOOK}?token={token}', timeout=120_000)
            page.locator('.jp-Notebook').first.wait_for(timeout=120_000)
            # JupyterLab may ask which kernel to start: accept its choice (the notebook's python3), as a person would
            accept = page.locator('.jp-Dialog .jp-mod-accept')
            try: accept.first.wait_for(state='visible', timeout=5_000); accept.first.click()
            except PlaywrightTimeout: pass
            page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(timeout=120_000)
            page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
            page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
            # what a person sees once the cells have run: the player with sound and a piano roll
            audio = page.locator('.jp-OutputArea audio').first
            audio.wait_for(state='attached', timeout=300_000)
            roll = page.locator('.jp-OutputArea .widget-image').first
            roll.wait_for(state='visible', timeout=120_000)
            # the browser has decoded the WAV: a sound of the piece's length (10 s prime + 20 s), ready to play
            page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea audio')].some(a => a.readyState >= 1 && a.duration > 25)",
                                   timeout=120_000)
            duration = page.evaluate("() => Math.max(...[...document.querySelectorAll('.jp-OutputArea audio')].map(a => a.duration || 0))")
            assert 25 < duration < 35, duration
            assert page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea .widget-image')]"
                                 ".some(i => i.naturalWidth > 100 && i.naturalHeight > 50)"), 'the piano roll image did not render'
            options = page.locator('.jp-OutputArea select option')
            before = options.count()
            assert before >= 1, 'the player lists no samples'
            page.locator('.jp-OutputArea button', has_text='Generate').first.click()
            page.wait_for_function(f"() => document.querySelectorAll('.jp-OutputArea select option').length > {before}",
                                   timeout=180_000)
            page.screenshot(path=str(shot), full_page=True)
        except Exception:
            try: page.screenshot(path=str(ARTIFACTS / 'browser_quickstart_failure.png'), full_page=True)
            except Exception: pass
            raise
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f'screenshot: {shot}; audio element: {duration:.2f} s')
