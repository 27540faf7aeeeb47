"""pyproject.toml lists every package directory, so `pip install .` (not only `-e`) ships all of torchlite."""
from __future__ import annotations

import pathlib

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    mapping = conf["package-dir"]
    found = set()
    for name, rel in mapping.items():
        base = ROOT / rel
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            found.add(".".join((name,) + parts))
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; stale: {sorted(listed - found)}"


def test_torchlite_never_imports_torch():
    offenders = []
    for path in list((ROOT / "torchlite").rglob("*.py")) + list((ROOT / "compiler").rglob("*.py")):
        for line in path.read_text().splitlines():
            s = line.strip()
            if s.startswith(("import torch", "from torch ", "from torch.")) and not s.startswith("import torchlite"):
                offenders.append(f"{path.relative_to(ROOT)}: {s}")
    assert offenders == []


def test_cli_lists_ops_and_refuses_an_unknown_kind(capsys):
    from torchlite.cli import main
    assert main(["ops", "creation"]) == 0
    out = capsys.readouterr().out
    assert "arange" in out and "linspace" in out and "matmul" not in out
    assert main(["ops", "no-such-kind"]) == 2
    assert "the kinds are:" in capsys.readouterr().err


def test_cli_info_says_which_devices_are_available_and_why_not(capsys):
    from torchlite.cli import main
    import torchlite
    assert main(["info"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())     # the table's cells, unwrapped
    assert "device interpret available" in out and "device cpu available" in out
    if not torchlite.cuda.is_available():
        assert "device cuda not available:" in out
        if "cuda-core is not installed" in out:          # the install hint survives rich's markup
            assert "pip install torchlite[cuda]" in out
