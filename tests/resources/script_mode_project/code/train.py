"""A script-mode training script written the way SageMaker's own PyTorch examples write them
(not for sagepipe): the cluster from SM_HOSTS/SM_CURRENT_HOST, GPUs from SM_NUM_GPUS, data from
the default ``training`` channel, strict ``parse_args()``, the model saved as ``model.pth``.

The data is a CSV of ``x0,...,x3,label`` rows; the model is a logistic regression.
"""

import argparse
import json
import logging
import os
import sys

import numpy as np
import torch
import torch.nn as nn

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)
logger.addHandler(logging.StreamHandler(sys.stdout))


class Net(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.linear = nn.Linear(features, 2)

    def forward(self, x):
        return self.linear(x)


def load(data_dir):
    files = sorted(f for f in os.listdir(data_dir) if f.endswith(".csv"))
    rows = np.concatenate([np.loadtxt(os.path.join(data_dir, f), delimiter=",") for f in files])
    return torch.tensor(rows[:, :-1], dtype=torch.float32), torch.tensor(rows[:, -1]).long()


def train(args):
    is_distributed = len(args.hosts) > 1 and args.backend is not None
    use_cuda = args.num_gpus > 0
    logger.info("Distributed training - %s; number of gpus: %d", is_distributed, args.num_gpus)
    device = torch.device("cuda" if use_cuda else "cpu")
    torch.manual_seed(args.seed)
    x, y = load(args.data_dir)
    x, y = x.to(device), y.to(device)
    model = Net(x.shape[1]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(y), device=device)
        for start in range(0, len(y), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (model(x).argmax(1) == y).float().mean().item()
        logger.info("Train Epoch: %d Loss: %.6f Accuracy: %.4f", epoch, loss.item(), accuracy)
    save_model(model, args.model_dir)


def save_model(model, model_dir):
    logger.info("Saving the model.")
    path = os.path.join(model_dir, "model.pth")
    torch.save(model.cpu().state_dict(), path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    parser.add_argument("--epochs", type=int, default=10, metavar="N")
    parser.add_argument("--lr", type=float, default=0.01, metavar="LR")
    parser.add_argument("--momentum", type=float, default=0.5, metavar="M")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--backend", type=str, default=None)
    parser.add_argument("--hosts", type=list, default=json.loads(os.environ["SM_HOSTS"]))
    parser.add_argument("--current-host", type=str, default=os.environ["SM_CURRENT_HOST"])
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--data-dir", type=str, default=os.environ["SM_CHANNEL_TRAINING"])
    parser.add_argument("--num-gpus", type=int, default=int(os.environ["SM_NUM_GPUS"]))
    train(parser.parse_args())
