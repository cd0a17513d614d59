#!/usr/bin/env bash
# The kit's GPU check on a fresh GPU machine: set up Python, then run benchmarks/gpu_check.py (about 7 minutes).
#
#   bash benchmarks/gpu_check.sh [gpu_check.py options]        # on the GPU machine, from the repository root
#   bash benchmarks/gpu_check.sh --fetch-wheels                 # on a machine with the internet: fill .whl/ first
#
# Set-up, in this order (the first that applies):
#   1. $PYTHON if set, else a python3 that already imports torch with CUDA (GPU images usually ship one);
#   2. the kit's other requirements: if .whl/ holds wheels (made by --fetch-wheels, carried to a machine with no
#      registry), they are installed from there with pip --no-index into /tmp/music_gan_site; otherwise, if a registry
#      is reachable, `pip install` of what is missing goes into a venv (.venv-gpu, with a plain `pip install torch`
#      when no CUDA torch was found). The kit itself is used from this folder (PYTHONPATH), not installed.
# Results go to $OUT if set, else ./gpu_check_out (see benchmarks/gpu_check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="einops>=0.7 numpy>=1.24 pretty_midi>=0.2.10 mido>=1.3 music21>=9.1 ipywidgets>=8 matplotlib>=3.7 tqdm>=4.60 scipy>=1.10 \
nbdev==2.4.14 execnb==0.1.18 fastcore==1.14.5 ghapi<2 pytest"

if [ "${1:-}" = "--fetch-wheels" ]; then
  # Wheels for Python 3.12 on x86-64 Linux (the GPU image's), of the requirements and everything they need that the
  # image may lack; torch and its CUDA libraries are left out (the image has them). Run where pip can reach PyPI.
  rm -rf .whl && mkdir -p .whl
  py=${PYTHON:-python3}
  $py -m pip download --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
      -d .whl $REQS || { echo "gpu_check.sh: pip download failed (see above)" >&2; exit 2; }
  # what the GPU image already holds (device README: KINDS.md); the rest is carried
  rm -f .whl/{torch,nvidia_,triton,numpy,scipy,matplotlib,pillow,contourpy,fonttools,kiwisolver,pyparsing,cycler,packaging,\
python_dateutil,six,sympy,mpmath,networkx,jinja2,markupsafe,filelock,fsspec,typing_extensions,setuptools,pytest,pluggy,\
iniconfig,pygments,tqdm,requests,urllib3,idna,certifi,charset_normalizer,pyyaml,PyYAML,attrs,einops,anyio,build,cloudpickle,\
httpx,httpcore,h11,joblib,psutil,pyproject_hooks,wheel,sniffio}-* 2>/dev/null || true
  du -sh .whl; ls .whl
  exit 0
fi

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3 /opt/torch/.venv/bin/python3 python; do
    if command -v "$c" >/dev/null && "$c" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then PY=$(command -v "$c"); break; fi
  done
fi
if [ -n "$PY" ] && ls .whl/*.whl >/dev/null 2>&1; then
  echo "gpu_check.sh: installing $(ls .whl/*.whl | wc -l) carried wheels into /tmp/music_gan_site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/music_gan_site .whl/*.whl
  export PYTHONPATH="/tmp/music_gan_site${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/music_gan_site/bin:$PATH"
elif ! "${PY:-python3}" -c 'import music21, pretty_midi, einops, nbdev, execnb' 2>/dev/null; then
  echo "gpu_check.sh: setting up .venv-gpu from the registry"
  "${PY:-python3}" -m venv ${PY:+--system-site-packages} .venv-gpu
  [ -n "$PY" ] || .venv-gpu/bin/pip install -q torch
  .venv-gpu/bin/pip install -q $REQS
  PY=$PWD/.venv-gpu/bin/python; export PATH="$PWD/.venv-gpu/bin:$PATH"
fi
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available() and torch.cuda.get_device_name())'
exec "$PY" benchmarks/gpu_check.py "$@"
