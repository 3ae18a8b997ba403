#!/usr/bin/env bash
# Rebuild the whole study: ./run_all.sh [--profile smoke|quick|paper] [--only 01,03] [--force]
# Creates the project's environment first when needed. See ./run_all.sh --help.
set -euo pipefail
cd "$(dirname "$0")"
source lib/ensure_env.sh
ensure_env || exit 1
export YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$PWD/data/.config"
exec python -m lib.study.pipeline "$@"
