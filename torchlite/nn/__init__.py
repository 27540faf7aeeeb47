"""Neural-network building blocks. So far: ``torchlite.nn.functional`` (the functional ops that exist);
``Module``, layers and losses arrive with the autograd/nn issue."""
from . import functional

__all__ = ["functional"]
