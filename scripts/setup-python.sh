#!/usr/bin/env bash
# Creates the repository's Python environment for kernels/ (the training and evaluation package):
# a `.venv` in the repo root built with --system-site-packages (so the machine's numpy and pytest are
# visible) plus CPU PyTorch. It first tries an ordinary `pip install torch` (works wherever PyPI is
# reachable); if that fails it installs a local wheel with `--no-index --find-links <dir> --no-deps`
# (directory from $KILN_TORCH_WHEELS, else $PIP_FIND_LINKS, else /opt/wheels). Torch's optional
# dependencies (filelock, fsspec, sympy, networkx, jinja2) are not needed by kiln_kernels, which only
# uses torch.nn, autograd and F.scaled_dot_product_attention. Idempotent: when
# `.venv/bin/python -c "import torch"` already works it only reports and exits.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
python_bin="${KILN_PYTHON:-python3}"
wheel_dir="${KILN_TORCH_WHEELS:-${PIP_FIND_LINKS:-/opt/wheels}}"

say() { echo "[setup-python] $*"; }

torch_works() {
  "$venv/bin/python" -c "import torch, numpy; print(torch.__version__)" 2>/dev/null
}

if [[ -x "$venv/bin/python" ]] && version="$(torch_works)"; then
  say "already set up: $venv (torch $version); nothing to do"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  say "creating $venv with $python_bin (system site packages visible)"
  "$python_bin" -m venv --system-site-packages "$venv"
else
  say "reusing $venv (torch missing or broken)"
fi

pip_quiet=(--disable-pip-version-check --no-input)
if "$venv/bin/python" -m pip install "${pip_quiet[@]}" --timeout 15 --retries 1 torch; then
  say "installed torch with pip from the configured index"
else
  say "pip install torch failed (no index reachable?); falling back to local wheels in $wheel_dir"
  if ! ls "$wheel_dir"/torch-*.whl >/dev/null 2>&1; then
    say "ERROR: no torch wheel in $wheel_dir; set KILN_TORCH_WHEELS to a folder holding a CPU torch wheel"
    exit 1
  fi
  "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-index --find-links "$wheel_dir" --no-deps torch
  say "installed torch from $wheel_dir without dependencies"
fi

if version="$(torch_works)"; then
  say "verified: import torch works (torch $version) in $venv"
else
  say "ERROR: torch installed but 'import torch' fails in $venv; run: $venv/bin/python -c 'import torch'"
  exit 1
fi
