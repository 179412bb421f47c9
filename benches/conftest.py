import torch

import pycnn

torch.set_num_threads(pycnn.get_num_threads())
