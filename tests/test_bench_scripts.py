"""The benchmark scripts that only a GPU measures with still run: ``bench/gpu.py`` on the interpret device
(its logic, not its numbers) and its refusal without a GPU. (The CPU benches run in CI's time budget only as
their own commands; their results are recorded in bench/results/.)"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import torchlite as tl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=600):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu.py"), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.skipif(tl.cuda.is_available(), reason="checks the message of a machine without a GPU")
def test_gpu_bench_says_there_is_no_gpu():
    r = _run()
    assert r.returncode == 2 and "no usable GPU here" in r.stdout


def test_gpu_bench_runs_its_whole_suite_on_the_interpreter():
    r = _run("--device", "interpret", "--batch", "1", "--repeat", "1", "--warmup", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("mlp_block", "transformer_block", "softmax", "layer_norm", "rms_norm", "cross_entropy",
                 "gelu_mlp", "attention"):
        assert name in r.stdout
