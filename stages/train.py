"""Stage ``train@<model>``: train one MLP with early stopping on validation accuracy.

Writes ``models/<model>/`` (init.pt, best.pt, config.json, neuron_history.pt),
``metrics/train/<model>.json`` and ``metrics/curves/<model>.tsv``; logs params, per-epoch
metrics (step = epoch) and the checkpoint to the model's MLflow run. Same params on the CPU
-> bit-identical outputs.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from stages import cli, config, data, model, paths, probes, tracking
from stages.config import Config, ModelSpec

log = logging.getLogger("train")


@dataclass
class TrainResult:
    init_state: dict
    best_state: dict
    history: list[dict]
    best_epoch: int
    neuron_history: dict = field(default_factory=dict)
    seconds: float = 0.0


def make_optimizer(cfg: Config, params) -> torch.optim.Optimizer:
    if cfg.train.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.train.lr)
    return torch.optim.SGD(params, lr=cfg.train.lr, momentum=cfg.train.momentum)


def run(
    cfg: Config, spec: ModelSpec, splits: data.Splits, device: torch.device,
    on_epoch: Callable[[dict], None] = lambda row: None,
) -> TrainResult:
    """Train with early stopping; ``on_epoch`` receives each epoch's row as it is made."""
    tc = cfg.train
    net = model.build(spec).to(device)
    init_state = copy.deepcopy(net.state_dict())
    optimizer = make_optimizer(cfg, net.parameters())
    # Batches are slices of a per-epoch permutation drawn on the CPU: same order on any device.
    generator = torch.Generator().manual_seed(spec.seed)
    x, y = splits.x_train, splits.y_train
    subset = x[: tc.dynamics_subset]  # the split is already a random permutation
    n_batches = len(x) // tc.batch_size  # drop_last, as in the reference
    if n_batches == 0:
        raise config.ConfigError(
            f"train.batch_size: {tc.batch_size} exceeds the {len(x)} training images"
        )

    extremes = [probes.neuron_extremes(net, subset, 4096)]
    history: list[dict] = []
    best_acc, best_epoch, best_state = -1.0, 0, init_state
    start = time.perf_counter()
    bar = tqdm(range(1, tc.max_epochs + 1), desc=spec.name, unit="epoch", leave=False,
               disable=None, file=sys.stderr)
    for epoch in bar:
        epoch_start = time.perf_counter()
        net.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for b in range(n_batches):
            idx = order[b * tc.batch_size : (b + 1) * tc.batch_size]
            logits = net(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(1) == y[idx]).sum()
        weights = probes.weight_stats(net)  # gradients of the epoch's last batch
        val_loss, predictions = model.predict(net, splits.x_val, splits.y_val)
        val_acc = (predictions == splits.y_val).double().mean().item()
        extremes.append(probes.neuron_extremes(net, subset, 4096))
        row = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / n_batches,
            "train_acc": correct.item() / (n_batches * tc.batch_size),
            "val_loss": val_loss,
            "val_acc": val_acc,
            **weights,
        }
        history.append(row)
        on_epoch({**row, "epoch_seconds": time.perf_counter() - epoch_start})
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val_acc=f"{val_acc:.4f}")
        if bar.disable:  # no TTY for a bar: one log line per epoch instead
            log.info("%s epoch %d: train loss %.4f, val acc %.4f", spec.name, epoch,
                     row["train_loss"], val_acc)
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = copy.deepcopy(net.state_dict())
        elif epoch - best_epoch >= tc.patience:
            log.info("%s: early stop at epoch %d, best val acc %.4f at epoch %d",
                     spec.name, epoch, best_acc, best_epoch)
            break
    bar.close()
    neuron_history = {
        "max_abs_output": [torch.stack([e.max_abs_output[i] for e in extremes]).cpu()
                           for i in range(len(spec.hidden_sizes))],
        "max_rel_derivative": [torch.stack([e.max_rel_derivative[i] for e in extremes]).cpu()
                               for i in range(len(spec.hidden_sizes))],
        "subset_size": len(subset),
    }
    return TrainResult(init_state, best_state, history, best_epoch, neuron_history,
                       time.perf_counter() - start)


def write_tsv(path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()}
                         for r in rows)


def _main(model_name: str) -> None:
    cfg = config.load()
    spec = cfg.model(model_name)
    device = data.resolve_device(cfg.train.device)
    if device.type == "cuda":
        # cuBLAS needs this before its first call for deterministic algorithms.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    splits = data.load_prepared(device)
    model_config = {
        **model.spec_dict(spec),
        "run_key": tracking.run_key(cfg, spec, splits.meta),
        "mlflow_params": tracking.model_params(cfg, spec, splits.meta),
    }
    run_id = tracking.model_run(cfg.experiment, model_config, replace=True)
    try:
        result = run(cfg, spec, splits, device,
                     on_epoch=lambda row: tracking.log_metrics(run_id, row, step=row["epoch"]))
    except BaseException:
        tracking.finish(run_id, ok=False)
        raise

    n_params = sum(t.numel() for t in result.init_state.values())
    model.save(paths.init_checkpoint(model_name), result.init_state, spec)
    model.save(paths.best_checkpoint(model_name), result.best_state, spec)
    torch.save(result.neuron_history, paths.neuron_history(model_name))
    model_config["parameters"] = n_params
    paths.model_config(model_name).write_text(
        json.dumps(model_config, indent=2, sort_keys=True) + "\n")
    write_tsv(paths.train_history(model_name), result.history)
    best = result.history[result.best_epoch - 1]
    metrics = {
        "parameters": n_params,
        "epochs_trained": len(result.history),
        "best_epoch": result.best_epoch,
        "best_val_acc": best["val_acc"],
        "best_val_loss": best["val_loss"],
        "train_acc_at_best": best["train_acc"],
    }
    paths.train_metrics(model_name).parent.mkdir(parents=True, exist_ok=True)
    paths.train_metrics(model_name).write_text(json.dumps(metrics, indent=2) + "\n")
    epochs = len(result.history)
    timing = {"device": str(device), "seconds": round(result.seconds, 2),
              "seconds_per_epoch": round(result.seconds / epochs, 3)}
    paths.train_timing(model_name).parent.mkdir(parents=True, exist_ok=True)
    paths.train_timing(model_name).write_text(json.dumps(timing, indent=2) + "\n")

    tracking.log_metrics(run_id, {**metrics, "train_seconds": result.seconds,
                                  "seconds_per_epoch": result.seconds / epochs})
    tracking.set_tags(run_id, {"device": str(device)})
    tracking.log_artifact(run_id, paths.best_checkpoint(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.model_config(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.train_history(model_name))
    tracking.finish(run_id)
    log.info("%s: best val acc %.4f at epoch %d of %d (%.1f s on %s)", model_name,
             best["val_acc"], result.best_epoch, epochs, result.seconds, device)


def main(argv: list[str] | None = None) -> int:
    return cli.run_model_stage(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
