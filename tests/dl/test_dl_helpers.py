"""The shared PyTorch helpers: devices, threads, seeds, weights and checkpoints."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the dl helpers need PyTorch (the 'dl' extra)")

from medscale.dl import (  # noqa: E402
    Checkpoint,
    available_cores,
    configure_threads,
    load_weights,
    resolve_device,
    save_weights,
    seed_everything,
)
from medscale.errors import ConfigError, ModelError  # noqa: E402


def test_auto_picks_cpu_without_gpu_and_cuda_is_refused_clearly() -> None:
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_threads_follow_the_available_cores() -> None:
    before = torch.get_num_threads()
    try:
        assert configure_threads() == available_cores() == torch.get_num_threads()
        assert configure_threads(1) == 1 == torch.get_num_threads()
        with pytest.raises(ConfigError):
            configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_seed_reproduces_initialisation() -> None:
    seed_everything(7)
    first = torch.nn.Linear(4, 3).weight.detach().clone()
    seed_everything(7)
    assert torch.equal(first, torch.nn.Linear(4, 3).weight)


def test_weights_round_trip_and_mismatch(tmp_path) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    path = save_weights(net, tmp_path / "weights.pt")
    other = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    load_weights(other, path)
    x = torch.randn(5, 3)
    assert torch.equal(net(x), other(x))
    with pytest.raises(ModelError, match="do not fit"):
        load_weights(torch.nn.Linear(4, 1), path)
    with pytest.raises(ModelError, match="no such weights file"):
        load_weights(other, tmp_path / "missing.pt")


def test_weights_only_refuses_pickled_code(tmp_path) -> None:
    class Payload:
        def __reduce__(self):  # runs on unpickling if the loader allowed it
            return (print, ("code ran",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, path)
    with pytest.raises(ModelError, match="not a readable weights file"):
        load_weights(torch.nn.Linear(1, 1), path)


def test_checkpoint_resumes_where_training_stopped(tmp_path) -> None:
    def train(epochs: range, net, opt) -> None:
        for _ in epochs:
            opt.zero_grad()
            loss = (net(torch.ones(4, 2)) - 1).pow(2).mean()
            loss.backward()
            opt.step()

    seed_everything(0)
    straight = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(straight.parameters(), lr=0.05)
    train(range(6), straight, opt)

    seed_everything(0)
    cut = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(cut.parameters(), lr=0.05)
    train(range(3), cut, opt)
    Checkpoint(tmp_path).save(2, cut, opt, {"losses": [1.0, 0.5, 0.25]})

    resumed = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(resumed.parameters(), lr=0.05)
    start, state = Checkpoint(tmp_path).load(resumed, opt)
    assert start == 3 and state == {"losses": [1.0, 0.5, 0.25]}
    train(range(start, 6), resumed, opt)
    assert torch.allclose(resumed.weight, straight.weight)
    assert not list(tmp_path.glob(".*partial"))
