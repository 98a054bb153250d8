"""Only model_fn, as in SageMaker's examples: the toolkit's default input_fn (JSON, CSV or NPY
to a tensor), predict_fn (the model's forward) and output_fn (the tensor as JSON) do the rest."""

import os

import torch
from train import Net


def model_fn(model_dir):
    model = Net(4)
    with open(os.path.join(model_dir, "model.pth"), "rb") as f:
        model.load_state_dict(torch.load(f, weights_only=True))
    return model.eval()
