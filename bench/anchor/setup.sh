#!/usr/bin/env bash
# Build the anchor's own environment (never the project's): bench/.venv-anchor.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/../.venv-anchor"
uv_cmd=(uv)
command -v uv >/dev/null 2>&1 || uv_cmd=(python3 -m uv)
if [ ! -x "$venv/bin/python" ]; then
  "${uv_cmd[@]}" venv --quiet --python 3.11 "$venv"
fi
"${uv_cmd[@]}" pip install --quiet --python "$venv/bin/python" -r "$here/requirements.txt"
