"""Stage ``train@<model>``: train one MLP with early stopping on validation accuracy.

Writes ``models/<model>/`` (init.pt, best.pt, record.json, neuron_history.pt),
``metrics/train/<model>.json``, ``metrics/curves/<model>.tsv`` and ``metrics/timing/``; logs
params, per-epoch metrics (step = epoch) and the checkpoint to the model's MLflow run. Same
params on the CPU -> bit-identical outputs.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm

from stages import cli, config, data, device, io, mlp, paths, probes, tracking
from stages.config import ModelSpec, TrainConfig
from stages.errors import ConfigError

log = logging.getLogger("train")
EXTREMES_BATCH = 4096  # images per forward of the per-epoch neuron probe


@dataclass
class TrainResult:
    init_state: dict
    best_state: dict
    history: list[dict]
    best_epoch: int
    neuron_history: dict = field(default_factory=dict)
    seconds: float = 0.0


def make_optimizer(tc: TrainConfig, params) -> torch.optim.Optimizer:
    # fused: one kernel per parameter for the whole update, on the CPU as on CUDA.
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=tc.lr, fused=True)
    return torch.optim.SGD(params, lr=tc.lr, momentum=tc.momentum, fused=True)


def train_epoch(
    net: mlp.MLP,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over the full batches of ``order`` (drop_last, as in the reference).

    Returns the summed batch losses and the number of correct predictions as tensors on the
    device: nothing in the loop waits for the device (no ``.item()`` per batch).
    """
    net.train()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for b in range(len(order) // batch_size):
        idx = order[b * batch_size : (b + 1) * batch_size]
        targets = y[idx]
        logits = net(x[idx])
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach()
        correct += (logits.detach().argmax(1) == targets).sum()
    return loss_sum, correct


def epoch_extras(net: mlp.MLP, splits: data.Splits, subset: torch.Tensor) -> dict:
    """What each epoch records besides training: weight statistics (with the gradients of the
    epoch's last batch), validation loss and accuracy, and the per-neuron extremes on the
    dynamics subset."""
    weights = probes.weight_stats(net)
    val_loss, predictions = mlp.predict(net, splits.x_val, splits.y_val)
    val_acc = (predictions == splits.y_val).double().mean().item()
    extremes = probes.neuron_extremes(net, subset, EXTREMES_BATCH)
    return {"weights": weights, "val_loss": val_loss, "val_acc": val_acc, "extremes": extremes}


def train_model(
    tc: TrainConfig,
    spec: ModelSpec,
    splits: data.Splits,
    dev: torch.device,
    on_epoch: Callable[[dict], None] = lambda row: None,
) -> TrainResult:
    """Train with early stopping; ``on_epoch`` receives each epoch's row as it is made."""
    net = mlp.build(spec, tc.activation_impl).to(dev)
    init_state = copy.deepcopy(net.state_dict())
    optimizer = make_optimizer(tc, net.parameters())
    # Batches are slices of a per-epoch permutation drawn on the CPU: same order on any device.
    generator = torch.Generator().manual_seed(spec.seed)
    x, y = splits.x_train, splits.y_train
    subset = x[: tc.dynamics_subset]  # the split is already a random permutation
    n_batches = len(x) // tc.batch_size
    if n_batches == 0:
        raise ConfigError(f"train.batch_size: {tc.batch_size} exceeds the {len(x)} training images")

    extremes = [probes.neuron_extremes(net, subset, EXTREMES_BATCH)]
    history: list[dict] = []
    best_acc, best_epoch, best_state = -1.0, 0, init_state
    start = time.perf_counter()
    bar = tqdm(
        range(1, tc.max_epochs + 1),
        desc=spec.name,
        unit="epoch",
        leave=False,
        disable=None,
        file=sys.stderr,
    )
    for epoch in bar:
        epoch_start = time.perf_counter()
        order = torch.randperm(len(x), generator=generator).to(dev)
        loss_sum, correct = train_epoch(net, optimizer, x, y, order, tc.batch_size)
        extras = epoch_extras(net, splits, subset)
        extremes.append(extras["extremes"])
        row = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / n_batches,
            "train_acc": correct.item() / (n_batches * tc.batch_size),
            "val_loss": extras["val_loss"],
            "val_acc": extras["val_acc"],
            **extras["weights"],
        }
        history.append(row)
        on_epoch({**row, "epoch_seconds": time.perf_counter() - epoch_start})
        val_acc = row["val_acc"]
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val_acc=f"{val_acc:.4f}")
        if bar.disable:  # no TTY for a bar: one log line per epoch instead
            log.info(
                "%s epoch %d: train loss %.4f, val acc %.4f",
                spec.name,
                epoch,
                row["train_loss"],
                val_acc,
            )
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = copy.deepcopy(net.state_dict())
        elif epoch - best_epoch >= tc.patience:
            log.info(
                "%s: early stop at epoch %d, best val acc %.4f at epoch %d",
                spec.name,
                epoch,
                best_acc,
                best_epoch,
            )
            break
    bar.close()
    layers = range(len(spec.hidden_sizes))
    neuron_history = {
        "max_abs_output": [
            torch.stack([e.max_abs_output[i] for e in extremes]).cpu() for i in layers
        ],
        "max_rel_derivative": [
            torch.stack([e.max_rel_derivative[i] for e in extremes]).cpu() for i in layers
        ],
        "subset_size": len(subset),
    }
    return TrainResult(
        init_state, best_state, history, best_epoch, neuron_history, time.perf_counter() - start
    )


def _main(model_name: str) -> None:
    cfg = config.load()
    spec = cfg.model_spec(model_name)
    dev = device.resolve(cfg.train.device)
    device.make_deterministic(dev)
    splits = data.load_prepared(dev)
    params = tracking.model_params(spec, cfg.train, splits.meta)
    record = io.ModelRecord(spec, tracking.run_key(params), params, parameters=0)
    # The one params key train reads without declaring it in dvc.yaml: where the run is
    # logged does not change the model, so renaming the experiment must not retrain.
    experiment = cfg.mlflow.experiment
    run_id = tracking.start_training_run(experiment, record)
    try:
        result = train_model(
            cfg.train,
            spec,
            splits,
            dev,
            on_epoch=lambda row: tracking.log_metrics(run_id, row, row["epoch"]),
        )
    except BaseException:
        tracking.finish(run_id, ok=False)
        raise

    n_params = sum(t.numel() for t in result.init_state.values())
    record = io.ModelRecord(spec, record.run_key, params, n_params)
    impl = cfg.train.activation_impl
    mlp.save(paths.init_checkpoint(model_name), result.init_state, spec, impl)
    mlp.save(paths.best_checkpoint(model_name), result.best_state, spec, impl)
    io.save_torch(paths.neuron_history(model_name), result.neuron_history)
    io.write_record(paths.model_record(model_name), record)
    io.write_tsv(paths.curves(model_name), result.history)
    best = result.history[result.best_epoch - 1]
    epochs = len(result.history)
    metrics = {
        "parameters": n_params,
        "epochs_trained": epochs,
        "best_epoch": result.best_epoch,
        "best_val_acc": best["val_acc"],
        "best_val_loss": best["val_loss"],
        "train_acc_at_best": best["train_acc"],
    }
    io.write_json(paths.train(model_name), metrics)
    timing = {
        "device": str(dev),
        "seconds": round(result.seconds, 2),
        "seconds_per_epoch": round(result.seconds / epochs, 3),
    }
    io.write_json(paths.timing(model_name), timing)

    tracking.log_metrics(
        run_id,
        {**metrics, "train_seconds": result.seconds, "seconds_per_epoch": result.seconds / epochs},
    )
    tracking.set_tags(run_id, {"device": str(dev)})
    tracking.log_artifact(run_id, paths.best_checkpoint(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.model_record(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.curves(model_name))
    tracking.finish(run_id)
    sha = hashlib.sha256(paths.best_checkpoint(model_name).read_bytes()).hexdigest()
    tracking.settle_training_run(experiment, run_id, record, sha)
    log.info(
        "%s: best val acc %.4f at epoch %d of %d (%.1f s on %s)",
        model_name,
        best["val_acc"],
        result.best_epoch,
        epochs,
        result.seconds,
        dev,
    )


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
