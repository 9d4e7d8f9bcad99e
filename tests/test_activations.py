import pytest
import torch
from torch import nn

from stages.activations import REGISTRY, make_activation

# Our formula-based modules and the torch.nn counterpart each must match.
REFERENCE = {
    "sigmoid": ({}, nn.Sigmoid()),
    "tanh": ({}, nn.Tanh()),
    "relu": ({}, nn.ReLU()),
    "relu_custom": ({}, nn.ReLU()),
    "leakyrelu": ({"alpha": 0.1}, nn.LeakyReLU(0.1)),
    "elu": ({"alpha": 1.0}, nn.ELU(1.0)),
    "swish": ({}, nn.SiLU()),
    "identity": ({}, nn.Identity()),
}


def test_every_registered_activation_has_a_reference():
    assert set(REFERENCE) == set(REGISTRY)


def inputs(dtype=torch.float32):
    x = torch.cat(
        [
            torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 5,
            torch.tensor([0.0, -0.0, 1e-8, -1e-8, 50.0, -50.0, 200.0, -200.0]),
        ]
    )
    return x.to(dtype).requires_grad_()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_matches_torch_values_and_gradients(name):
    options, reference = REFERENCE[name]
    ours = make_activation(name, options)
    x1, x2 = inputs(), inputs()
    y1, y2 = ours(x1), reference(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-6, atol=1e-7)
    g = torch.randn_like(y1)
    (g1,) = torch.autograd.grad(y1, x1, g)
    (g2,) = torch.autograd.grad(y2, x2, g)
    torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-6)  # float32 gradients up to ~1.1
    assert torch.isfinite(g1).all()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gradcheck_float64(name):
    options, _ = REFERENCE[name]
    act = make_activation(name, options)
    x = torch.randn(64, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    x = torch.where(x.abs() < 0.05, x.sign() * 0.05 + x, x)  # finite differences away from kinks
    assert torch.autograd.gradcheck(act, (x.requires_grad_(),), eps=1e-6, atol=1e-6)


def test_custom_relu_backward_is_hand_written():
    act = make_activation("relu_custom")
    y = act(torch.tensor([-1.0, 2.0], requires_grad=True))
    assert type(y.grad_fn).__name__ == "_ReLUFunctionBackward"


def test_relu_outputs_exact_zero_not_negative_zero():
    y = make_activation("relu")(torch.tensor([-3.0, 0.0]))
    assert torch.equal(torch.signbit(y), torch.tensor([False, False]))


@pytest.mark.parametrize("name,options", [("leakyrelu", {"alpha": -0.1}), ("elu", {"alpha": 0})])
def test_bad_options_raise(name, options):
    with pytest.raises(ValueError, match="alpha"):
        make_activation(name, options)


def test_options_are_used():
    x = torch.tensor([-2.0])
    assert make_activation("leakyrelu", {"alpha": 0.3})(x).item() == pytest.approx(-0.6)
    assert make_activation("elu", {"alpha": 2.0})(x).item() == pytest.approx(
        2 * (torch.exp(x) - 1).item()
    )
