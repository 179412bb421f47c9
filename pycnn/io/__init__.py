"""Read and write weight files: PyTorch checkpoints (.pth/.pt), .safetensors and .npz.

Threat model: a weights file is untrusted input. `torch.load` would run any code its pickle names, and a
lying zip directory, header or tensor record could ask for terabytes or point outside the data; so this
module never imports torch, lets a pickle reach only a few stand-ins that describe tensors, and checks
every size, offset and stride against the bytes actually present before it allocates or copies anything.

    state = pycnn.io.load("resnet18.pth")          # {name: np.ndarray}
    pycnn.io.save(state, "resnet18.safetensors")

Every malformed or unsupported file raises `WeightsFileError` (a `ValueError`) naming the file and the
problem; a pickle that names anything outside the allow-list raises its subclass `UnsafeCheckpointError`
(also a `pickle.UnpicklingError`). A missing or unreadable file raises the usual `OSError`.
"""

from .errors import UnsafeCheckpointError, WeightsFileError
from .reading import load
from .writing import save

__all__ = ["load", "save", "WeightsFileError", "UnsafeCheckpointError"]
