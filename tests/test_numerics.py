"""The pinned numerical setup (lib/study/numerics.py) is in force wherever the golden copies are checked.

nbval's kernels inherit this process's environment, so if these tests fail, the nbval results of
this session are the numerics of this particular processor and thread count, not the goldens'.
"""
import os
import subprocess
import sys

from lib.study import numerics, paths, pipeline


def test_pinned_setup_is_in_force():
    numerics.configure()
    problems = numerics.mismatches()
    assert not problems, ("the tests are not running under the pinned numerical setup; run them through "
                          "`bash tests/run.sh`, which exports it:\n  " + "\n  ".join(problems))


def test_a_departure_is_reported():
    """mismatches() must see an unpinned process: it is what makes the test above able to fail."""
    env = {k: v for k, v in os.environ.items() if k not in numerics.PINNED_ENV}
    code = "from lib.study import numerics; print(numerics.mismatches())"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=paths.REPO_ROOT, capture_output=True, text=True, check=True).stdout
    for name in numerics.PINNED_ENV:
        assert name in out


def test_golden_runs_get_the_pin_and_reference_runs_do_not(tmp_path):
    golden = pipeline.kernel_env(tmp_path, pinned=True, force=False)
    assert {k: golden.get(k) for k in numerics.PINNED_ENV} == numerics.PINNED_ENV
    assert not set(numerics.PINNED_ENV) & set(pipeline.kernel_env(tmp_path, pinned=False, force=False))


def test_the_header_names_the_cpus_vector_extensions():
    """Every machine the study runs on has AVX2 (the pin needs it); the header says what else it has,
    which decides bf16 and the unpinned kernels."""
    found = numerics.cpu_extensions()
    assert found.split(", ")[0] == "AVX2" and set(found.split(", ")) <= {name for _, name in numerics.CPU_EXTENSIONS}
    assert f"({found})" in numerics.describe("cpu")["machine"]
