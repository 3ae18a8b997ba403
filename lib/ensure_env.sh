# Sourced by run_all.sh and tests/run.sh: make sure the project's virtual environment exists
# and matches requirements.txt, then put it first on PATH.
#
# The venv lives in .venv (git-ignored). It is (re)built when it is missing, when
# requirements.txt or pyproject.toml changed since it was built, or when it no longer imports
# the study's packages. A build that dies half-way leaves no stamp, so the next call rebuilds.
# Venvs cannot be moved after creation (their scripts hold absolute paths), hence
# "stamp written last" rather than "build elsewhere and rename".

STUDY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STUDY_VENV="$STUDY_ROOT/.venv"
STUDY_KERNEL="microvision-study"

_env_fail() {
    echo "ERROR: environment: $*" >&2
    return 1
}

_env_stamp() {
    # What the venv was built from: the pinned requirements, the package metadata and the python.
    { cat "$STUDY_ROOT/requirements.txt" "$STUDY_ROOT/pyproject.toml"; "$1" -c 'import sys; print(sys.version)'; } \
        | sha256sum | cut -d' ' -f1
}

_env_healthy() {
    # Presence, not import: importing torch and ultralytics on every call would cost ~10 s.
    "$STUDY_VENV/bin/python" - <<'PY' >/dev/null 2>&1
import importlib.util, sys
names = ["lib", "torch", "torchvision", "ultralytics", "pytorch_grad_cam", "papermill", "nbval", "ipykernel", "cv2"]
sys.exit(any(importlib.util.find_spec(n) is None for n in names))
PY
}

ensure_env() {
    local python="${STUDY_PYTHON:-python3}"
    command -v "$python" >/dev/null 2>&1 || { _env_fail "'$python' not found; install Python 3.11 or set STUDY_PYTHON"; return 1; }
    "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
        || { _env_fail "'$python' is Python $("$python" -c 'import platform; print(platform.python_version())'); the pinned requirements need 3.11 (set STUDY_PYTHON)"; return 1; }

    local want have=""
    want="$(_env_stamp "$python")"
    [ -f "$STUDY_VENV/.stamp" ] && have="$(cat "$STUDY_VENV/.stamp")"
    if [ "$want" = "$have" ] && _env_healthy; then
        export PATH="$STUDY_VENV/bin:$PATH" VIRTUAL_ENV="$STUDY_VENV"
        return 0
    fi

    if [ -z "$have" ] && [ -d "$STUDY_VENV" ]; then
        echo "environment: .venv is incomplete (an earlier build stopped); rebuilding it" >&2
    elif [ -n "$have" ] && [ "$want" != "$have" ]; then
        echo "environment: requirements changed since .venv was built; rebuilding it" >&2
    elif [ -n "$have" ]; then
        echo "environment: .venv no longer imports the study's packages (broken); rebuilding it" >&2
    else
        echo "environment: creating .venv from requirements.txt (a few minutes, once)" >&2
    fi
    rm -rf "$STUDY_VENV"
    "$python" -m venv "$STUDY_VENV" || { _env_fail "could not create $STUDY_VENV"; return 1; }
    local log="$STUDY_VENV/pip-install.log"
    { "$STUDY_VENV/bin/python" -m pip install --upgrade pip \
        && "$STUDY_VENV/bin/python" -m pip install -r "$STUDY_ROOT/requirements.txt" \
        && "$STUDY_VENV/bin/python" -m pip install --no-deps -e "$STUDY_ROOT"; } >"$log" 2>&1 \
        || { grep -v "is ignored: it is neither" "$log" | tail -n 25 >&2
             _env_fail "pip could not install requirements.txt into .venv (its last lines above; full log: $log)"; return 1; }
    # The kernel is registered inside the venv (--sys-prefix): Jupyter, papermill and nbval run
    # from the venv find it, and nothing is written to the user's own Jupyter folders.
    "$STUDY_VENV/bin/python" -m ipykernel install --sys-prefix --name "$STUDY_KERNEL" \
        --display-name "Python (microvision study)" >/dev/null \
        || { _env_fail "could not register the Jupyter kernel '$STUDY_KERNEL'"; return 1; }
    _env_healthy || { _env_fail "the new .venv does not import the study's packages"; return 1; }
    echo "$want" >"$STUDY_VENV/.stamp"
    echo "environment: .venv ready" >&2
    export PATH="$STUDY_VENV/bin:$PATH" VIRTUAL_ENV="$STUDY_VENV"
}
