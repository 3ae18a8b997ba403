#!/usr/bin/env bash
# Run every test of the study: unit tests of lib, the JupyterLab check and nbval on the golden
# copies in tests/golden/ (re-executed at the smoke profile). Extra arguments go to pytest.
# Creates the project's environment first when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source lib/ensure_env.sh
ensure_env || exit 1
# One numerical setup on every x86-64 machine with AVX2 (AVX2 kernels, two threads; see
# lib/study/numerics.py); what still differs between processor makes is compared within the measured
# tolerances of tests/golden/tolerances.toml (lib/study/goldens.py, hooked in by tests/conftest.py).
pins="$(python -m lib.study.numerics)"  # a failure here stops the run (set -e)
eval "$pins"
# Deterministic, quiet notebook runs: no progress bars, no ultralytics chatter or network.
export TQDM_DISABLE=1 YOLO_VERBOSE=False YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$PWD/data/.config" PYTHONHASHSEED=0
exec python -m pytest tests \
    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
    -p no:cacheprovider "$@"
