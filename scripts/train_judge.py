"""Train the course's MNIST judge and export it for NumPy inference: ``python scripts/train_judge.py``.

The judge (see ``helpers/judge.py``) is a small CNN: conv3×3(16)-ReLU-maxpool ·
conv3×3(32)-ReLU-maxpool · fc(128)-ReLU · fc(10). It is trained here with PyTorch on the
60,000 training digits (small random shifts as augmentation, Adam, a one-cycle learning
rate), seeded and single-threaded-deterministic on CPU, then written to ``data/judge.npz``
in PyTorch's weight layouts together with the Gaussian statistics of its features on the
test set (computed by the NumPy inference that the course uses, so they match exactly).

It prints the test accuracy of both the PyTorch model and the NumPy re-implementation,
and the file's SHA-256, which goes into ``helpers/judge.py`` (``JUDGE_SHA256``) and
``data/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import ROOT
from helpers import judge as judge_module
from helpers.data import load_mnist


class JudgeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(self.drop(x))


def shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translation by up to ``max_shift`` pixels (zero fill): the judge must not care where a digit sits."""
    n = len(x)
    padded = F.pad(x, (max_shift,) * 4)
    dx, dy = (torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator))
    rows = (torch.arange(28)[None, :] + dy[:, None])  # (N, 28)
    cols = (torch.arange(28)[None, :] + dx[:, None])
    idx = torch.arange(n)[:, None, None]
    return padded[idx, 0, rows[:, :, None], cols[:, None, :]][:, None]


def write_npz(f, arrays: dict) -> None:
    """An ``.npz`` with fixed zip timestamps, so identical weights give an identical file (and hash)."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="1 keeps the run bit-for-bit reproducible")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "judge.npz")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(args.seed)
    x_train, y_train = (torch.from_numpy(a) for a in load_mnist("train", channel="first"))
    x_test, y_test = load_mnist("test", dtype="uint8")

    model = JudgeNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = len(x_train) // args.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for i in range(steps_per_epoch):
            index = order[i * args.batch_size:(i + 1) * args.batch_size]
            xb = shift(x_train[index], generator)
            loss = F.cross_entropy(model(xb), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(x_test[:, None].astype(np.float32) / 255.0))
        acc = float((logits.argmax(1).numpy() == y_test).mean())
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / steps_per_epoch:.4f} · test accuracy {acc:.4f} · "
              f"{time.perf_counter() - started:.0f} s", flush=True)

    weights = {name.replace(".weight", "_w").replace(".bias", "_b"): p.detach().numpy().astype(np.float32)
               for name, p in model.state_dict().items()}
    judge = judge_module.Judge(weights)
    numpy_acc = float(np.mean(judge.predict(x_test) == y_test))
    mu, sigma = judge_module.gaussian_stats(judge.features(x_test))
    archive = {**weights, "test_mu": mu.astype(np.float64), "test_sigma": sigma.astype(np.float64),
               "meta_test_accuracy": np.float64(numpy_acc), "meta_seed": np.int64(args.seed),
               "meta_epochs": np.int64(args.epochs)}
    buffer = io.BytesIO()
    write_npz(buffer, archive)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    print(f"test accuracy: PyTorch {acc:.4f} · NumPy inference {numpy_acc:.4f}")
    print(f"wrote {args.out} ({len(buffer.getvalue()):,} bytes)")
    print(f"sha256 {digest}")
    return 0 if numpy_acc >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
