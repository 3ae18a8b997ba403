"""The numerical setup of a run: what this machine's torch dispatches to, and the one pinned
setup under which the tests and the smoke golden copies run.

Floating-point results depend on the kernels a library dispatches to (AVX-512 kernels sum in
another order than AVX2 ones) and on how many threads a reduction is split over. A trained
detector's weights then differ in their last bits, and a thresholded heatmap turns that into a
different second decimal. So ``tests/run.sh`` and ``./run_all.sh --update-golden`` run under
:data:`PINNED_ENV`: AVX2 kernels in ATen, oneDNN, MKL and OpenBLAS, and two threads (one in
OpenBLAS), which every x86-64 machine with AVX2 can run, on one core as on many. The libraries
read these variables when they load, so they must be in the environment before Python starts:
``tests/run.sh`` exports the output of ``python -m lib.study.numerics``, and the pipeline hands them
to the notebook kernels.

Under the pin a machine reproduces its own golden copies to the last digit, but an Intel Xeon and
an AMD EPYC still differ in the smoke detectors' heatmap scores: nbval compares those numbers
within tolerances measured between the two (:mod:`lib.study.goldens`).

Reference runs (``run_all.sh`` without ``--update-golden``) use the machine as it is, and every
notebook header says what that was (:func:`describe`). torch is imported inside the functions,
so that ``python -m lib.study.numerics`` and the pipeline stay light.
"""
from __future__ import annotations

import os
import platform
import time

PINNED_THREADS = 2
PINNED_ENV = {
    "STUDY_NUMERICS": "pinned",  # tells Study.start and the tests that this setup is meant to hold
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels (element-wise ops, reductions)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN: convolutions, pooling
    "MKL_CBWR": "AVX2",  # MKL: matrix products (linear layers, attention); its AVX2 code path
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's OpenBLAS: the AVX2 kernels
    "OMP_NUM_THREADS": str(PINNED_THREADS),
    "MKL_NUM_THREADS": str(PINNED_THREADS),
    # OpenBLAS lowers its thread count to the CPUs the process may use (taskset), so only a
    # single thread splits its sums the same way on every machine; numpy's products are small here.
    "OPENBLAS_NUM_THREADS": "1",
}
PINNED_CAPABILITY = "AVX2"  # what torch.backends.cpu.get_cpu_capability() reports under the pin


def pinned() -> bool:
    """Whether this process was started under the pinned setup (``tests/run.sh``, golden copies)."""
    return os.environ.get("STUDY_NUMERICS") == PINNED_ENV["STUDY_NUMERICS"]


def configure() -> None:
    """Apply what cannot be set from the environment. ultralytics resets torch's thread count to
    ``os.cpu_count() - 1`` whenever it picks a device (once per training or validation), keeping a
    core for data-loading workers that the study does not start (``workers=0``): on 2 cores the
    detectors would train on one. It keeps torch's own count instead: :data:`PINNED_THREADS` under
    the pin, every core otherwise."""
    import torch
    from ultralytics.utils import torch_utils

    if pinned():
        torch.set_num_threads(PINNED_THREADS)
    torch_utils.NUM_THREADS = torch.get_num_threads()


def detector_threads() -> int:
    """Threads ultralytics trains and validates detectors with (it resets torch's count)."""
    from ultralytics.utils import torch_utils

    return torch_utils.NUM_THREADS


def mismatches() -> list[str]:
    """Every way in which this process departs from the pinned setup (empty when it holds)."""
    import torch

    out = [f"{k}={os.environ.get(k)!r}, pinned {v!r}" for k, v in PINNED_ENV.items() if os.environ.get(k) != v]
    capability = torch.backends.cpu.get_cpu_capability()
    if capability != PINNED_CAPABILITY:
        out.append(f"torch dispatches to {capability}, pinned {PINNED_CAPABILITY} (a CPU without AVX2 cannot run the pin)")
    if torch.get_num_threads() != PINNED_THREADS:
        out.append(f"torch uses {torch.get_num_threads()} threads, pinned {PINNED_THREADS}")
    if detector_threads() != PINNED_THREADS:
        out.append(f"ultralytics trains with {detector_threads()} threads, pinned {PINNED_THREADS}")
    return out


def clock() -> float:
    """``time.perf_counter()`` once the GPU has finished the work queued so far, so that a timing
    measures the work and not its launch. (``torch.utils.benchmark`` does the same, but importing it
    prints a CUDA_HOME warning into the notebooks on a machine without CUDA, and its ``Timer`` adds
    warm-up calls to every measurement.)"""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


# The vector extensions that decide which kernels torch runs and whether bf16 is native, in
# /proc/cpuinfo's flag names and in words.
CPU_EXTENSIONS = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16"), ("amx_tile", "AMX"))


def cpu_extensions() -> str:
    """Which of :data:`CPU_EXTENSIONS` this CPU has, in words ("" where /proc/cpuinfo is absent)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next(line.split(":", 1)[1].split() for line in f if line.startswith("flags")))
    except (OSError, StopIteration):
        return ""
    return ", ".join(name for flag, name in CPU_EXTENSIONS if flag in flags) or "none of AVX2, AVX-512, AMX"


def describe(device: str) -> dict[str, str]:
    """The machine and numerics of this run, for the provenance header."""
    import torch

    if device.startswith("cuda"):
        machine = f"{torch.cuda.get_device_name(device)} (CUDA), host CPU {cpu_model()}"
    else:
        extensions = cpu_extensions()
        machine = f"{cpu_model()}{f' ({extensions})' if extensions else ''}, {os.cpu_count()} logical CPUs"
    setup = "pinned for the golden copies (lib/study/numerics.py)" if pinned() else "this machine's own (not pinned)"
    return {
        "machine": machine,
        "numerics": (f"torch CPU kernels {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads "
                     f"({detector_threads()} in ultralytics' trainer); {setup}"),
        # CAMs and scores always run in the default dtype; training follows lib.study.precision.
        "dtype": f"{str(torch.get_default_dtype()).removeprefix('torch.')} (CAMs and scores; training: next line)",
    }


if __name__ == "__main__":  # shell lines that export the pinned setup: eval "$(python -m lib.study.numerics)"
    print("\n".join(f"export {k}={v}" for k, v in PINNED_ENV.items()))
