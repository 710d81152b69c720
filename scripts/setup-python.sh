#!/usr/bin/env bash
# Creates the repository's Python environment for kernels/ (the training and evaluation package):
# a `.venv` in the repo root built with --system-site-packages (so the machine's numpy and pytest are
# visible) plus CPU PyTorch. It first tries an ordinary `pip install torch` (works wherever PyPI is
# reachable); if that fails it installs a local wheel with `--no-index --find-links <dir> --no-deps`
# (directory from $KILN_TORCH_WHEELS, else $PIP_FIND_LINKS, else /opt/wheels). Torch's optional
# dependencies (filelock, fsspec, sympy, networkx, jinja2) are not needed by kiln_kernels, which only
# uses torch.nn, autograd and F.scaled_dot_product_attention. Idempotent: when
# `.venv/bin/python -c "import torch"` already works it only reports and exits. pip's own output
# (its retries against an unreachable index included) goes to .venv/pip-install.log; the script says
# in one line where torch came from: the file or URL pip actually installed.
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

pip_quiet=(--disable-pip-version-check --no-input --progress-bar off)
pip_log="$venv/pip-install.log"
: > "$pip_log"

# Where pip took torch from, as its log says: a local file it processed, or a URL it downloaded.
torch_origin() {
  { grep -Eo '(Processing|Downloading) [^ ]*torch-[^ ]*\.whl' "$pip_log" || true; } | tail -n 1 | cut -d' ' -f2
}

say "installing CPU torch with pip (its output: $pip_log)"
if "$venv/bin/python" -m pip install "${pip_quiet[@]}" --timeout 15 --retries 1 torch >>"$pip_log" 2>&1; then
  origin="$(torch_origin)"
  say "installed torch with pip from ${origin:-an already cached or installed copy}"
else
  say "pip could not install torch from the configured indexes (see $pip_log); trying local wheels in $wheel_dir"
  if ! ls "$wheel_dir"/torch-*.whl >/dev/null 2>&1; then
    say "ERROR: no torch wheel in $wheel_dir; set KILN_TORCH_WHEELS to a folder holding a CPU torch wheel"
    exit 1
  fi
  if ! "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-index --find-links "$wheel_dir" --no-deps torch >>"$pip_log" 2>&1; then
    say "ERROR: installing the local wheel failed; the last lines of $pip_log:"
    tail -n 20 "$pip_log"
    exit 1
  fi
  origin="$(torch_origin)"
  say "installed torch from ${origin:-$wheel_dir} without dependencies"
fi

if version="$(torch_works)"; then
  say "verified: import torch works (torch $version) in $venv"
else
  say "ERROR: torch installed but 'import torch' fails in $venv; run: $venv/bin/python -c 'import torch'"
  exit 1
fi
