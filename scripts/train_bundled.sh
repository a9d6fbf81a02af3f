#!/usr/bin/env bash
# Train the three bundled models with mirlens' own code (original protocol; lr 0.001 = what the original
# models really used). Usage: scripts/train_bundled.sh RUNS_DIR   (needs MIRLENS_DATA_DIR or the data cache)
# miraw and combined run side by side on one thread each; deepmirtar follows miraw.
set -euo pipefail
runs=${1:-runs/bundled}
mkdir -p "$runs"
( mirlens train --data miraw -o "$runs/miraw" --name miraw --max-epochs 200 --patience 20 --threads 1 \
    > "$runs/miraw.log" 2>&1
  mirlens train --data deepmirtar -o "$runs/deepmirtar" --name deepmirtar --max-epochs 400 --patience 50 \
    --threads 1 > "$runs/deepmirtar.log" 2>&1 ) &
mirlens train --data combined -o "$runs/combined" --name combined --max-epochs 200 --patience 20 --threads 1 \
    > "$runs/combined.log" 2>&1 &
wait
