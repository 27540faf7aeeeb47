"""The examples run end to end (in subprocesses, as a user would run them)."""
import math
import os
import re
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _run(script, *args, timeout=60):
    env = dict(os.environ, COLUMNS="120")
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_mlp_trains():
    r = _run("mlp.py")
    assert r.returncode == 0, r.stderr
    losses = [float(v) for v in re.findall(r"step\s+\d+\s+loss (\S+)", r.stdout)]
    assert len(losses) >= 5 and all(math.isfinite(v) for v in losses), r.stdout
    final = float(re.search(r"final test loss (\S+)\s+accuracy (\S+)", r.stdout).group(1))
    assert final < losses[0] / 3, r.stdout
    assert float(re.search(r"accuracy (\S+)", r.stdout).group(1)) > 0.9, r.stdout


def _gpt(tmp_path, *extra):
    text = tmp_path / "tiny.txt"
    if not text.exists():
        text.write_text("the quick brown fox jumps over the lazy dog.\n" * 60 + "hello world, hello torchlite!\n" * 40)
    args = ["--steps", "20", "--n-layer", "1", "--n-embd", "32", "--n-head", "4", "--block-size", "16",
            "--batch-size", "8", "--data", str(text), "--checkpoint", str(tmp_path / "ckpt.safetensors"),
            "--eval-every", "10", "--sample-tokens", "20", *extra]
    return _run("train_gpt.py", *args)


def test_train_gpt_tiny_checkpoint_and_resume(tmp_path):
    r = _gpt(tmp_path)
    assert r.returncode == 0, r.stderr
    evals = re.findall(r"step\s+(\d+)\s+train loss (\S+)\s+eval loss (\S+)", r.stdout)
    assert [int(s) for s, _, _ in evals] == [10, 20], r.stdout
    assert all(math.isfinite(float(a)) and math.isfinite(float(b)) for _, a, b in evals), r.stdout
    m = re.search(r"unigram entropy (\S+) nats \| final train loss (\S+) \| final eval loss (\S+)", r.stdout)
    assert m and all(math.isfinite(float(v)) for v in m.groups()), r.stdout
    assert "sample:" in r.stdout
    assert (tmp_path / "ckpt.safetensors").exists()

    r2 = _gpt(tmp_path, "--resume", "--steps", "30")
    assert r2.returncode == 0, r2.stderr
    assert "resumed from" in r2.stdout and "at step 20" in r2.stdout, r2.stdout
    evals2 = re.findall(r"step\s+(\d+)\s+train loss (\S+)\s+eval loss (\S+)", r2.stdout)
    assert [int(s) for s, _, _ in evals2] == [30], r2.stdout      # continued from 20, not from scratch
    assert math.isfinite(float(evals2[0][2]))


def test_train_gpt_on_interpret_matches_cpu(tmp_path):
    """The generated Triton kernels (on Triton's interpreter) train the same model to the same losses."""
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\n" * 60)
    args = ["--steps", "2", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "8",
            "--batch-size", "2", "--data", str(text), "--eval-every", "1", "--sample-tokens", "3"]
    pattern = r"step\s+(\d+)\s+train loss (\S+)\s+eval loss (\S+)"
    cpu = _run("train_gpt.py", *args)
    interp = _run("train_gpt.py", *args, "--device", "interpret", timeout=600)
    assert cpu.returncode == 0, cpu.stderr
    assert interp.returncode == 0, interp.stderr
    a, b = re.findall(pattern, cpu.stdout), re.findall(pattern, interp.stdout)
    assert len(a) == 2 and len(b) == 2, (cpu.stdout, interp.stdout)
    for (sa, ta, ea), (sb, tb, eb) in zip(a, b):
        assert sa == sb and math.isclose(float(ta), float(tb), rel_tol=1e-3) and math.isclose(float(ea), float(eb), rel_tol=1e-3)


def test_train_gpt_unavailable_device(tmp_path):
    r = _gpt(tmp_path, "--device", "cuda", "--steps", "1")
    assert r.returncode != 0
    assert "cuda" in r.stderr and ("not available" in r.stderr or "no GPU" in r.stderr or "GPU" in r.stderr), r.stderr
