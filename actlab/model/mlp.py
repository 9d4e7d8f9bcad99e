"""The MLP, its checkpoints, and batched prediction."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from actlab import files
from actlab.identity import ModelSpec
from actlab.model.activations import Activation, kaiming_gain, make_activation


class MLP(nn.Module):
    """``inputs`` (784 pixels for the image datasets) -> Linear, activation per hidden width ->
    Linear -> ``classes`` logits."""

    def __init__(
        self,
        hidden_sizes: tuple[int, ...],
        activation: str,
        options: dict,
        impl: str = "fused",
        inputs: int = 784,
        classes: int = 10,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = inputs
        # Layers are created in this order (Linear, activation, Linear, ...) so that a seed set
        # just before construction gives the same weights as the reference tutorial's network.
        for width in hidden_sizes:
            layers += [
                nn.Linear(previous, width),
                make_activation(activation, options, impl, width),
            ]
            previous = width
        layers.append(nn.Linear(previous, classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    def hidden(self) -> list[tuple[nn.Linear, Activation]]:
        """(linear, activation) per hidden layer."""
        mods = list(self.layers)
        return [(mods[i], mods[i + 1]) for i in range(0, len(mods) - 1, 2)]


def initialise(net: MLP, spec: ModelSpec) -> None:
    """Re-draw the weights for ``spec.init`` (``default`` keeps PyTorch's): ``kaiming`` is
    N(0, gain^2 / fan_in) with the activation's gain, ``xavier`` is Glorot's uniform with gain 1
    (as in the paper); biases start at 0 for both. The output layer is linear (gain 1)."""
    if spec.init == "default":
        return
    linears = net.linears()
    with torch.no_grad():
        for i, linear in enumerate(linears):
            last = i == len(linears) - 1
            if spec.init == "kaiming":
                gain = 1.0 if last else kaiming_gain(spec.activation, spec.options)
                std = gain / linear.in_features**0.5
                nn.init.normal_(linear.weight, 0.0, std)
            else:
                nn.init.xavier_uniform_(linear.weight, gain=1.0)
            nn.init.zeros_(linear.bias)


def build(spec: ModelSpec, impl: str = "fused") -> MLP:
    """Seeded right before construction, on the CPU, so weights match on every device (and
    ``default`` init matches the reference tutorial's network exactly)."""
    torch.manual_seed(spec.seed)
    net = MLP(spec.hidden_sizes, spec.activation, spec.options, impl, spec.inputs, spec.classes)
    initialise(net, spec)
    return net


@torch.no_grad()
def predict(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 4096
) -> tuple[float, torch.Tensor]:
    """Mean cross-entropy on (x, y) and the predicted classes, in eval mode and large batches."""
    net.eval()
    loss = torch.zeros((), device=x.device, dtype=torch.float64)
    predictions = []
    for start in range(0, len(x), batch):
        logits = net(x[start : start + batch])
        loss += nn.functional.cross_entropy(logits, y[start : start + batch], reduction="sum")
        predictions.append(logits.argmax(1))
    return loss.item() / len(x), torch.cat(predictions)


def save(path: Path, state_dict: dict[str, torch.Tensor], spec: ModelSpec, impl: str) -> None:
    """Weights (moved to the CPU) with the spec and activation implementation that rebuild
    their network exactly."""
    state = {k: v.detach().cpu() for k, v in state_dict.items()}
    files.save_torch(path, {"spec": spec.to_dict(), "activation_impl": impl, "state_dict": state})


def load(path: Path, device: torch.device | str = "cpu") -> MLP:
    """Rebuild the MLP from the spec stored beside its weights."""
    checkpoint = files.load_torch(path)
    return _rebuild(checkpoint, checkpoint["state_dict"], device)


def _rebuild(checkpoint: dict, state_dict: dict, device: torch.device | str) -> MLP:
    spec = ModelSpec.from_dict(checkpoint["spec"])
    impl = checkpoint["activation_impl"]
    net = MLP(spec.hidden_sizes, spec.activation, spec.options, impl, spec.inputs, spec.classes)
    net.load_state_dict(state_dict)
    return net.to(device).eval()


def save_budgets(
    path: Path, budget_best: dict[int, tuple[int, dict]], spec: ModelSpec, impl: str
) -> None:
    """The best checkpoint within each budget (its epoch and weights), as ``save`` keeps one."""
    budgets = {
        int(b): {"epoch": int(epoch), "state_dict": {k: v.detach().cpu() for k, v in sd.items()}}
        for b, (epoch, sd) in sorted(budget_best.items())
    }
    files.save_torch(path, {"spec": spec.to_dict(), "activation_impl": impl, "budgets": budgets})


def load_budgets(path: Path, device: torch.device | str = "cpu") -> dict[int, tuple[int, MLP]]:
    """budget -> (the epoch of its best checkpoint, that network)."""
    checkpoint = files.load_torch(path)
    return {
        b: (kept["epoch"], _rebuild(checkpoint, kept["state_dict"], device))
        for b, kept in checkpoint["budgets"].items()
    }
