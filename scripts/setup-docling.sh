#!/usr/bin/env bash
# The pinned environment for `replay --worker docling` in this repository's tests and demos:
# a virtualenv in .venv-docling/ with docling-jobkit and docling at the versions of
# workers/docling/requirements.lock.txt (from PyPI; torch is PyPI's CUDA build, which runs on
# the CPU), and stand-in layout weights in .venv-docling/artifacts/ (SYNTHETIC: the real
# architecture and size, random weights; see workers/memprof_docling/standin.py).
# Reuses what is there: a second run takes seconds. About 4-5 minutes and 6 GB the first time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.venv-docling
lock=workers/docling/requirements.lock.txt
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(sha1sum "$lock" | cut -c1-12)"
if [ ! -e "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$lock"
    touch "$stamp"
fi
HF_HUB_OFFLINE=1 PYTHONPATH=workers "$venv/bin/python" -m memprof_docling.standin "$venv/artifacts"
PYTHONPATH=workers "$venv/bin/python" -m memprof_docling.check
