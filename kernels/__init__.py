"""Hand-written Triton templates the compiler instantiates (matmul, attention, ...).

Installed as ``torchlite.kernels``. Empty until the Triton compiler lands (issue: the compiler).
"""
