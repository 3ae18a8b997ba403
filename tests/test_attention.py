import pytest
import torch

from lib.detection import attention


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def hidden(c):
    return max(1, c // 16)


# Reference parameter counts of each module for c channels (see the module docstrings).
REFERENCE = {
    "SE": lambda c: 2 * c * hidden(c) + hidden(c) + c,
    "ECA": lambda c: attention.eca_kernel(c),
    "CBAM": lambda c: 2 * c * hidden(c) + 2 * 7 * 7,
    "SimAM": lambda c: 0,
    "ShuffleAttention": lambda c: 3 * c // attention.shuffle_groups(c),
}


@pytest.mark.parametrize("name", list(attention.ATTENTION))
@pytest.mark.parametrize("c", [64, 128, 256, 512])
def test_shape_parameters_and_gradients(name, c):
    torch.manual_seed(0)
    module = attention.attention_module(name, c)
    x = torch.randn(2, c, 9, 7, requires_grad=True)
    y = module(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert n_params(module) == REFERENCE[name](c)
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_reference_hyperparameters():
    assert [attention.eca_kernel(c) for c in (64, 128, 256, 512)] == [3, 5, 5, 5]
    assert attention.shuffle_groups(512) == 8 and attention.shuffle_groups(24) == 6 and attention.shuffle_groups(6) == 3
    assert n_params(attention.SimAM()) == 0
    with pytest.raises(ValueError, match="even channel count"):
        attention.shuffle_groups(7)


def test_unknown_module_lists_the_valid_ones():
    with pytest.raises(ValueError, match="SE, ECA, CBAM, SimAM, ShuffleAttention"):
        attention.attention_module("BAM", 64)


def test_modules_reweight_rather_than_replace():
    """Each module rescales every activation by a gate in (0, 1) (ShuffleAttention also moves
    channels, tested below)."""
    torch.manual_seed(0)
    x = torch.randn(1, 64, 8, 8)
    for name in ("SE", "ECA", "CBAM", "SimAM"):
        y = attention.attention_module(name, 64)(x)
        gate = y / x
        assert (gate > 0).all() and (gate <= 1 + 1e-6).all(), name


def test_shuffle_attention_shuffles_channels():
    m = attention.ShuffleAttention(16, groups=2)
    x = torch.arange(16.0).reshape(1, 16, 1, 1).repeat(1, 1, 2, 2)
    with torch.no_grad():
        m.cbias.fill_(20.0)  # gates ~1: the output is the input, shuffled
        m.sbias.fill_(20.0)
        m.norm.weight.zero_()
    order = m(x)[0, :, 0, 0].round().long().tolist()
    assert sorted(order) == list(range(16)) and order != list(range(16))
    assert order[:4] == [0, 8, 1, 9]  # the two halves interleaved
