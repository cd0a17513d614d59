"""Packaging for music_gan: every value comes from settings.ini (nbdev 2 keeps its configuration there)."""
import shlex
from configparser import ConfigParser
from pathlib import Path

import setuptools

here = Path(__file__).resolve().parent
parser = ConfigParser(delimiters=['='])
parser.read(here / 'settings.ini', encoding='utf-8')
cfg = parser['DEFAULT']

required = ('lib_name lib_path version description keywords author author_email license '
            'status min_python audience language git_url').split()
missing = [k for k in required if k not in cfg]
if missing: raise SystemExit(f'settings.ini lacks: {", ".join(missing)}')

def _words(key):
    "Whitespace-separated entries of `key` (shlex, so a quoted entry may hold spaces)."
    return shlex.split(cfg.get(key, ''))

spdx = {'apache2': 'Apache-2.0', 'mit': 'MIT', 'gpl3': 'GPL-3.0-only', 'bsd3': 'BSD-3-Clause'}
dev_status = {'1': 'Planning', '2': 'Pre-Alpha', '3': 'Alpha', '4': 'Beta',
              '5': 'Production/Stable', '6': 'Mature', '7': 'Inactive'}
readme = here / 'README.md'

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    keywords=cfg['keywords'],
    author=cfg['author'],
    author_email=cfg['author_email'],
    license=spdx.get(cfg['license'], cfg['license']),
    url=cfg['git_url'],
    classifiers=[
        f'Development Status :: {cfg["status"]} - {dev_status[cfg["status"]]}',
        f'Intended Audience :: {cfg["audience"].title()}',
        f'Natural Language :: {cfg["language"].title()}',
        f'Programming Language :: Python :: {cfg["min_python"]}',
        'Topic :: Multimedia :: Sound/Audio :: MIDI',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    python_requires=f'>={cfg["min_python"]}',
    packages=setuptools.find_packages(include=[cfg['lib_path'], f'{cfg["lib_path"]}.*']),
    include_package_data=True,
    zip_safe=False,
    install_requires=_words('requirements'),
    extras_require={'dev': _words('dev_requirements'), 'audio': _words('audio_requirements')},
    entry_points={
        'console_scripts': _words('console_scripts'),
        # nbdev's doc-link index, written by nbdev_export
        'nbdev': [f'{cfg["lib_path"]}={cfg["lib_path"]}._modidx:d'],
    },
)
