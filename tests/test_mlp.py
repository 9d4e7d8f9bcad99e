import torch
from torch import nn

from actlab.identity import ModelSpec
from actlab.model import mlp


def spec(widths=(512, 256, 256, 128), activation="relu", options=(), seed=0):
    return ModelSpec(f"{activation}-x-{seed}", activation, options, "x", widths, seed, lr=0.01)


def test_seed_gives_the_reference_tutorial_weights():
    """UvA tutorial 3 builds Linear, act, ..., Linear in one Sequential after set_seed(42)."""
    net = mlp.build(spec(seed=42))
    torch.manual_seed(42)
    sizes = [784, 512, 256, 256, 128]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    reference = nn.Sequential(*layers, nn.Linear(128, 10))
    ours, ref = net.state_dict(), reference.state_dict()
    assert list(ours.values())[0].shape == (512, 784)
    assert all(torch.equal(a, b) for a, b in zip(ours.values(), ref.values(), strict=True))


def test_structure_and_parameter_count():
    net = mlp.build(spec((16, 8), "leakyrelu", (("alpha", 0.2),)))
    assert [type(m).__name__ for m in net.layers] == [
        "Linear",
        "LeakyReLU",
        "Linear",
        "LeakyReLU",
        "Linear",
    ]
    assert net.layers[1].alpha == 0.2
    assert sum(p.numel() for p in net.parameters()) == 784 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert [lin.out_features for lin, _ in net.hidden()] == [16, 8]


def test_checkpoint_round_trip_rebuilds_the_network(tmp_path):
    s = spec((16, 8), "elu", (("alpha", 0.5),), seed=1)
    net = mlp.build(s)
    mlp.save(tmp_path / "best.pt", net.state_dict(), s, "formula")
    loaded = mlp.load(tmp_path / "best.pt")
    assert loaded.layers[1].impl == "formula"  # rebuilt with the arithmetic it was trained with
    x = torch.randn(4, 784)
    assert torch.equal(loaded(x), net.eval()(x))
    assert loaded.layers[1].alpha == 0.5


def test_predict_matches_full_batch():
    net = mlp.build(spec((16,)))
    x, y = torch.randn(50, 784), torch.randint(0, 10, (50,))
    loss, pred = mlp.predict(net, x, y, batch=7)
    torch.testing.assert_close(torch.tensor(loss), nn.functional.cross_entropy(net(x), y))
    assert torch.equal(pred, net(x).argmax(1))
