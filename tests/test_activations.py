import inspect

import pytest
import torch
from torch import nn

from actlab.config import IMPLS, INITS
from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.model.activations import activation_class, kaiming_gain, make_activation, prelu
from actlab.model.registry import ACTIVATIONS

# Each activation, in both implementations, and its torch.nn counterpart must match.
REFERENCE = {
    "sigmoid": ({}, nn.Sigmoid()),
    "tanh": ({}, nn.Tanh()),
    "relu": ({}, nn.ReLU()),
    "leakyrelu": ({"alpha": 0.1}, nn.LeakyReLU(0.1)),
    "elu": ({"alpha": 1.0}, nn.ELU(1.0)),
    "swish": ({}, nn.SiLU()),
    "identity": ({}, nn.Identity()),
    "gelu": ({"approximate": "none"}, nn.GELU()),
    "selu": ({}, nn.SELU()),
    "mish": ({}, nn.Mish()),
    "softplus": ({"beta": 1.0, "threshold": 20.0}, nn.Softplus()),
    "celu": ({"alpha": 1.0}, nn.CELU()),
    "hardswish": ({}, nn.Hardswish()),
    "relu6": ({}, nn.ReLU6()),
    "prelu": ({"init": 0.25, "per": "layer"}, nn.PReLU()),
}
# The options that are not the defaults: each must give torch's function with that option.
VARIANTS = {
    "gelu": ({"approximate": "tanh"}, nn.GELU(approximate="tanh")),
    "softplus": ({"beta": 2.0, "threshold": 5.0}, nn.Softplus(2.0, 5.0)),
    "celu": ({"alpha": 2.5}, nn.CELU(2.5)),
    "elu": ({"alpha": 0.5}, nn.ELU(0.5)),
    "leakyrelu": ({"alpha": 0.01}, nn.LeakyReLU(0.01)),
    "prelu": ({"init": 0.1, "per": "neuron"}, nn.PReLU(7, init=0.1)),
}
CASES = [(n, *REFERENCE[n]) for n in sorted(REFERENCE)] + [
    (f"{n}:{','.join(map(str, o.values()))}", o, r) for n, (o, r) in sorted(VARIANTS.items())
]


def test_every_registered_activation_has_a_reference():
    assert set(REFERENCE) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_registry_names_each_class_and_its_options(name):
    """The registry (torch-free, for validation) and the class name the same options, and
    only the registry states their defaults (make_activation fills them in)."""
    parameters = inspect.signature(activation_class(name).__init__).parameters
    options = [k for k in parameters if k not in ("self", "impl", "width")]
    assert options == list(ACTIVATIONS[name].options)
    assert all(parameters[k].default is inspect.Parameter.empty for k in options)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_registered_activation_builds_trains_and_initialises(name, impl, init):
    """Build a small MLP of it with every implementation and init scheme, take one SGD step:
    the loss is finite and every weight moved (a missing gain or class fails here, not in a
    training run)."""
    options = {k: o.default for k, o in ACTIVATIONS[name].options.items()}
    spec = ModelSpec(f"{name}-t-1", name, tuple(options.items()), "t", (16, 8), 1, init, lr=0.01)
    net = mlp.build(spec, impl)
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 10
    loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert torch.isfinite(loss)
    assert all(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert kaiming_gain(name, options) > 0


def test_an_option_out_of_range_is_rejected_by_name():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        make_activation("elu", {"alpha": 0})


def inputs(dtype=torch.float32):
    """[1001, 7]: random values, exact zeros of both signs, tiny and huge ones, the kinks."""
    x = torch.cat(
        [
            torch.randn(1000 * 7, generator=torch.Generator().manual_seed(0)) * 5,
            torch.tensor([0.0, -0.0, 1e-8, -1e-8, 50.0, -50.0, 200.0]),
            torch.tensor([-200.0, 3.0, -3.0, 6.0, -6.0, 20.0, 10.0]),
        ]
    )
    return x.view(-1, 7).to(dtype).requires_grad_()


def name_of(case: str) -> str:
    return case.split(":")[0]


def make(case: str, options: dict, impl: str = "fused", width: int = 7):
    return make_activation(name_of(case), options, impl, width)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "options", "reference"), CASES, ids=[c[0] for c in CASES])
def test_matches_torch_values_and_gradients(case, options, reference, impl):
    """Value and input gradient on a [1001, 7] batch (float32) match torch.nn's module; for
    PReLU the slope's gradient too."""
    ours = make(case, options, impl)
    x1, x2 = inputs(), inputs()
    y1, y2 = ours(x1), reference(x2)
    # float32: gelu written out (erf, or tanh of a cubic) differs from torch's kernel by up to
    # a few ulps, in value and gradient (float64 below: to 1e-12)
    loose = case.startswith("gelu") and impl != "fused"
    torch.testing.assert_close(y1, y2, rtol=1e-6, atol=1e-6 if loose else 1e-7)
    g = torch.randn_like(y1)
    (g1,) = torch.autograd.grad(y1, x1, g)
    (g2,) = torch.autograd.grad(y2, x2, g)
    torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-5 if loose else 1e-6)
    assert torch.isfinite(g1).all()
    for ours_p, ref_p in zip(ours.parameters(), reference.parameters(), strict=True):
        (a,) = torch.autograd.grad(ours(x1).mul(g).sum(), ours_p)
        (b,) = torch.autograd.grad(reference(x2).mul(g).sum(), ref_p)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-3)  # a sum over 7 000 products


KINKS = torch.tensor([0.0, -3.0, 3.0, 6.0], dtype=torch.float64)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "options", "reference"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck_float64(case, options, reference, impl):
    act = make(case, options, impl).double()
    x = torch.randn(64, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    near = (x.unsqueeze(-1) - KINKS).abs().min(-1).values < 0.05
    x = torch.where(near, x + 0.1, x)  # finite differences away from the kinks
    assert torch.autograd.gradcheck(act, (x.requires_grad_(),), eps=1e-6, atol=1e-6)
    for p in act.parameters():  # PReLU: the slopes' gradient too
        p.data.uniform_(0.05, 0.5, generator=torch.Generator().manual_seed(2))
        assert torch.autograd.gradcheck(lambda s: prelu(x, s, impl), (p.detach().requires_grad_(),))


@pytest.mark.parametrize("impl", IMPLS)
def test_relu_outputs_exact_zero_not_negative_zero(impl):
    y = make_activation("relu", impl=impl)(torch.tensor([-3.0, 0.0]))
    assert torch.equal(torch.signbit(y), torch.tensor([False, False]))


def grid():
    """float64, ±30 and exact 0 included (and both sides of it)."""
    return torch.cat(
        [
            torch.linspace(-30, 30, 6001, dtype=torch.float64),
            torch.tensor([0.0, 1e-12, -1e-12], dtype=torch.float64),
        ]
    )


@pytest.mark.parametrize(("case", "options", "reference"), CASES, ids=[c[0] for c in CASES])
def test_fused_and_formula_agree_in_value_and_gradient(case, options, reference):
    values, grads = [], []
    for impl in IMPLS:
        x = grid().requires_grad_()
        y = make(case, options, impl, width=1).double()(x)
        (g,) = torch.autograd.grad(y.sum(), x)
        values.append(y.detach())
        grads.append(g)
    for other in (1, 2):
        torch.testing.assert_close(values[0], values[other], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(grads[0], grads[other], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "options", "reference"), CASES, ids=[c[0] for c in CASES])
def test_closed_form_derivative_matches_autograd(case, options, reference, impl):
    act = make(case, options, impl, width=1).double()
    x = grid().requires_grad_()
    (autograd,) = torch.autograd.grad(act(x).sum(), x)
    torch.testing.assert_close(act.derivative(x.detach()), autograd, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name,options,expected",
    [
        ("sigmoid", {}, 0.25),
        ("tanh", {}, 1.0),
        ("relu", {}, 1.0),
        ("identity", {}, 1.0),
        ("swish", {}, 1.0998),
        ("leakyrelu", {"alpha": 0.1}, 1.0),
        ("leakyrelu", {"alpha": 2.0}, 2.0),
        ("elu", {"alpha": 1.0}, 1.0),
        ("elu", {"alpha": 3.0}, 3.0),
        ("gelu", {}, 1.1289),  # at sqrt(2): Phi(sqrt 2) + sqrt(2) phi(sqrt 2) = 1.12890
        ("selu", {}, 1.7581),  # scale * alpha, at 0 from below
        ("mish", {}, 1.0885),
        ("softplus", {}, 1.0),
        ("celu", {"alpha": 2.0}, 1.0),
        ("hardswish", {}, 1.5),  # just below 3
        ("relu6", {}, 1.0),
        ("prelu", {}, 1.0),
    ],
)
def test_max_abs_derivative(name, options, expected):
    act = make_activation(name, options).double()
    assert act.max_abs_derivative() == pytest.approx(expected, abs=1e-4)
    x = grid().requires_grad_()
    (autograd,) = torch.autograd.grad(act(x).sum(), x)
    # the grids differ (0.001 and 0.01 apart): smooth maxima agree to 1e-5
    assert act.max_abs_derivative() == pytest.approx(autograd.abs().max().item(), rel=1e-5)


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
