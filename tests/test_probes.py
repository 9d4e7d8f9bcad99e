import pytest
import torch

from actlab.model.mlp import MLP
from actlab.probes import layers, neurons, weights


def hand_built(activation, w1, b1, w2=None):
    """A 784 -> len(b1) -> 10 MLP with the given first-layer weights."""
    net = MLP((len(b1),), activation, {})
    with torch.no_grad():
        net.layers[0].weight.copy_(w1)
        net.layers[0].bias.copy_(b1)
        if w2 is not None:
            net.layers[2].weight.copy_(w2)
    return net


def images(n=300):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(0))  # pixels in [0, 1]


def test_relu_neuron_forced_negative_is_exactly_the_dead_one():
    w = torch.randn(4, 784, generator=torch.Generator().manual_seed(1)) * 0.05
    b = torch.zeros(4)
    w[2], b[2] = -torch.rand(784).abs() - 0.01, -1.0  # non-negative pixels -> z < 0 always
    net = hand_built("relu", w, b)
    ext = neurons.neuron_extremes(net, images(), batch_size=64)
    assert ext.dead()[0].tolist() == [False, False, True, False]
    assert ext.saturated(1e-3)[0].tolist() == [False, False, True, False]  # relu: same set
    summary = neurons.count_summary(ext.dead())
    assert summary["per_layer"] == [1] and summary["percent_per_layer"] == [25.0]


def test_batch_size_does_not_change_the_answer():
    net = hand_built("relu", torch.randn(8, 784) * 0.1, torch.randn(8) - 1)
    a = neurons.neuron_extremes(net, images(), 7)
    b = neurons.neuron_extremes(net, images(), 300)
    assert torch.equal(a.dead()[0], b.dead()[0])
    torch.testing.assert_close(a.max_rel_derivative[0], b.max_rel_derivative[0])


def test_tanh_neuron_driven_far_into_saturation():
    w = torch.zeros(3, 784)
    b = torch.tensor([0.0, 30.0, -0.5])  # neuron 1: z = 30 on every image -> tanh' ~ 3.6e-26
    w[0, :] = 0.01
    net = hand_built("tanh", w, b)
    ext = neurons.neuron_extremes(net, images(), 128)
    assert ext.saturated(1e-3)[0].tolist() == [False, True, False]
    assert ext.dead()[0].tolist() == [False, False, False]  # tanh(30) = 1, never exactly 0


def test_sigmoid_neuron_saturated_relative_to_its_max_derivative():
    b = torch.tensor([8.0, 10.0])  # sigmoid'(8)/0.25 = 1.3e-3, sigmoid'(10)/0.25 = 1.8e-4
    net = hand_built("sigmoid", torch.zeros(2, 784), b)
    ext = neurons.neuron_extremes(net, images(50), 50)
    assert ext.saturated(1e-3)[0].tolist() == [False, True]


# Hidden neuron j sees z = Z[j] on every image (zero weights, bias Z[j]). Per activation,
# which of them are dead (output exactly 0, float32) and which saturated (|f'(z)| < 1e-3 of
# its max |f'|), by hand from the formulas (docs/activations.md):
Z = [-20.0, -4.0, -0.5, 0.5, 3.5, 8.0, 20.0]
DEAD_AND_SATURATED = {
    "sigmoid": (".......", "S.....S"),  # sigma'(8) / 0.25 = 1.3e-3: not yet
    "tanh": (".......", "S....SS"),  # tanh'(3.5) = 3.6e-3, tanh'(8) = 4.5e-7
    "relu": ("DDD....", "SSS...."),  # f' = 0 where the output is 0
    "leakyrelu": (".......", "......."),  # slope 0.1 on the left: never
    "elu": (".......", "S......"),  # exp(-20) = 2e-9, exp(-4) = 0.018
    "swish": (".......", "S......"),
    "identity": (".......", "......."),
    "gelu": ("D......", "SS....."),  # gelu(-20) rounds to 0; |gelu'(-4)| / 1.129 = 4.5e-4
    "selu": (".......", "S......"),  # alpha scale exp(z) / (alpha scale) = exp(z)
    "mish": (".......", "S......"),
    "softplus": (".......", "S......"),  # sigma(-20) = 2e-9
    "celu": (".......", "S......"),  # exp(z / alpha)
    "hardswish": ("DD.....", "SS....."),  # exactly 0 (and flat) for z <= -3
    "relu6": ("DDD....", "SSS..SS"),  # 0 below 0; flat at 6 above 6: saturated, not dead
    "prelu": (".......", "......."),  # slope 0.25 (its init) on the left
}


def test_every_activation_has_its_dead_and_saturated_expectations():
    from actlab.model.registry import ACTIVATIONS

    assert set(DEAD_AND_SATURATED) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(DEAD_AND_SATURATED))
def test_dead_and_saturated_per_activation_on_hand_built_weights(name):
    dead, saturated = DEAD_AND_SATURATED[name]
    net = hand_built(name, torch.zeros(len(Z), 784), torch.tensor(Z))
    ext = neurons.neuron_extremes(net, images(40), batch_size=16)
    census = neurons.neuron_census(net, images(40), batch_size=16, eps=1e-3)
    for got, census_got, want in (
        (ext.dead()[0], census.dead()[0], dead),
        (ext.saturated(1e-3)[0], census.saturated(1.0)[0], saturated),
    ):
        expected = [c != "." for c in want]
        assert got.tolist() == expected and census_got.tolist() == expected


@pytest.mark.parametrize("impl", ["fused", "formula", "manual"])
@pytest.mark.parametrize("name", sorted(DEAD_AND_SATURATED))
def test_probe_gives_the_numbers_of_an_autograd_pass(name, impl):
    """The closed-form f'(z) of one forward equals what autograd gives layer by layer."""
    torch.manual_seed(0)
    options = {"alpha": 0.1} if name in ("leakyrelu", "elu") else {}
    net = MLP((32, 16), name, options, impl)
    x = images(200) * 4 - 2
    ext = neurons.neuron_extremes(net, x, batch_size=64)
    h = x
    for i, (linear, act) in enumerate(net.hidden()):
        z = linear(h).detach().requires_grad_()
        a = act(z)
        (d,) = torch.autograd.grad(a.sum(), z)
        h = a.detach()
        torch.testing.assert_close(ext.max_abs_output[i], h.abs().amax(0))
        torch.testing.assert_close(
            ext.max_rel_derivative[i], d.abs().amax(0) / act.max_abs_derivative()
        )


def test_deep_sigmoid_gradients_vanish_towards_the_input():
    torch.manual_seed(42)
    net = MLP((256,) * 6, "sigmoid", {})
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    flow = layers.gradient_flow(net, x, y, bins=20)
    first, last = flow[0]["summary"]["mean_abs"], flow[-1]["summary"]["mean_abs"]
    assert last / first > 100
    assert sum(flow[0]["hist_log10_abs"]["counts"]) == 256 * 784
    assert all(p.grad is None or not p.grad.any() for p in net.parameters())


def test_activation_distributions_count_every_output():
    net = hand_built("relu", torch.randn(5, 784) * 0.1, torch.zeros(5))
    (layer,) = layers.activation_distributions(net, images(100), bins=10)
    assert sum(layer["hist"]["counts"]) == 500
    assert 0 <= layer["summary"]["fraction_zero"] <= 1


def test_weight_stats_first_and_last_layer():
    net = MLP((4, 3), "relu", {})
    stats = weights.weight_stats(net)
    assert stats["weights/first/std"] == pytest.approx(net.layers[0].weight.std().item())
    assert "grads/first/mean_abs" not in stats
    net(torch.randn(2, 784)).sum().backward()
    assert "grads/last/std" in weights.weight_stats(net)


def test_census_counts_images_per_neuron_on_hand_built_weights():
    """Pixel 0 of image i is i / 10 for i < 10, else 0.1 (other pixels 0): with weight 1 on
    pixel 0 and bias -0.45, the relu neuron's output is 0 on images 0..4 only (z <= 0)."""
    x = torch.zeros(20, 784)
    x[:, 0] = torch.tensor([i / 10 for i in range(10)] + [0.1] * 10)
    w = torch.zeros(3, 784)
    w[0, 0] = 1.0
    b = torch.tensor([-0.45, -1.0, 1.0])  # neuron 1: always dead; neuron 2: never
    census = neurons.neuron_census(hand_built("relu", w, b), x, batch_size=6, eps=1e-3)
    # z = x0 - 0.45 <= 0 for x0 in {0, .1, .2, .3, .4} and the ten 0.1 images: 15 of 20
    assert census.images == 20 and census.zero[0].tolist() == [15, 20, 0]
    assert census.saturated_count[0].tolist() == [15, 20, 0]  # relu: f' = 0 where output is 0
    assert census.dead()[0].tolist() == [False, True, False]
    assert census.nearly_dead(0.75)[0].tolist() == [True, True, False]
    assert census.nearly_dead(0.8)[0].tolist() == [False, True, False]
    assert census.mean_fractions(census.zero) == [pytest.approx((15 + 20) / 60)]
    summary = neurons.census_summary(census, 0.75)
    assert summary["dead"]["per_layer"] == [1] and summary["nearly_dead"]["per_layer"] == [2]


def test_census_saturation_fraction_for_tanh():
    """tanh(z) with z = 30 * x0: saturated (tanh' < 1e-3) where x0 >= 0.14, never zero."""
    x = torch.zeros(10, 784)
    x[:, 0] = torch.arange(10) / 10  # 0.0 .. 0.9
    w = torch.zeros(1, 784)
    w[0, 0] = 30.0
    census = neurons.neuron_census(hand_built("tanh", w, torch.zeros(1)), x, 4, eps=1e-3)
    # 1 - tanh(30 x)^2 < 1e-3  <=>  30 x > atanh(sqrt(1 - 1e-3)) = 4.15  <=>  x >= 0.2
    assert census.saturated_count[0].tolist() == [8]
    assert census.zero[0].tolist() == [1]  # x0 = 0 gives tanh(0) = 0 exactly
    assert census.saturated(0.8)[0].tolist() == [True] and census.dead()[0].tolist() == [False]
