"""Shared pytest set-up: hypothesis profiles and the repo root."""
import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# CI exports HYPOTHESIS_PROFILE=ci; a developer's run defaults to the quicker `dev`.
settings.register_profile('ci', deadline=None, max_examples=200)
settings.register_profile('dev', deadline=None, max_examples=50)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'dev'))


@pytest.fixture(scope='session')
def repo_root() -> Path:
    "The repository root (the folder holding settings.ini)."
    return REPO_ROOT
