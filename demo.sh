#!/usr/bin/env bash
# Set everything up, then break down, plan and previs the bundled example screenplay
# (examples/nevada), then bring down the bundled building (examples/palace). Ends with
# the animatic, the collapse shot and a one-screen summary of where things are.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
M=.venv/bin/moviola
PROJECT=${1:-demo-project}
[ -f "$PROJECT/moviola.toml" ] || "$M" init "$PROJECT" --name nevada
"$M" import-script "$PROJECT" examples/nevada/nevada.fountain
"$M" breakdown "$PROJECT"
"$M" plan "$PROJECT"
"$M" previs "$PROJECT"
"$M" vfx collapse --recipe examples/palace/recipe.json --project "$PROJECT" --shot 11A  # the script's collapse shot
