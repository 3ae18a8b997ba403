"""The DropKey / Dropout attention head: where and when masking acts, no NaN, shapes, variants."""
import pytest
import torch

from lib.classification import dropkey


def _attention(regulariser, rate=0.5, keep=False, seed=0):
    torch.manual_seed(seed)
    return dropkey.TokenAttention(16, 8, regulariser, rate, keep)


def test_dropkey_masks_logits_in_training_only_unless_kept_on():
    tokens = torch.randn(2, 9, 16)
    layer = _attention("dropkey")
    layer.eval()
    clean = layer.attention(tokens)
    assert torch.equal(clean, layer.attention(tokens))  # deterministic at inference
    layer.train()
    torch.manual_seed(1)
    masked = layer.attention(tokens)
    assert (masked < 1e-6).float().mean() > 0.3  # about half the keys dropped at rate 0.5
    assert torch.allclose(masked.sum(-1), torch.ones(2, 9))  # still a distribution: masked before softmax
    kept = _attention("dropkey", keep=True)
    kept.eval()
    torch.manual_seed(1)
    assert not torch.allclose(kept.attention(tokens), clean)


def test_a_fully_masked_row_gives_no_nan():
    layer = _attention("dropkey", rate=0.999)
    layer.train()
    torch.manual_seed(0)
    out = layer(torch.randn(3, 5, 16))
    assert torch.isfinite(out).all()
    weights = layer.attention(torch.randn(3, 5, 16))
    assert torch.isfinite(weights).all() and torch.allclose(weights.sum(-1), torch.ones(3, 5))
    half = _attention("dropkey", rate=0.999).half().train()
    assert torch.isfinite(half(torch.randn(2, 4, 16).half())).all()  # logits in float32 even in half precision


def test_dropout_acts_after_the_softmax_and_only_in_training():
    tokens = torch.randn(2, 6, 16)
    plain, drop = _attention("none"), _attention("dropout")
    plain.eval(), drop.eval()
    assert torch.equal(plain(tokens), drop(tokens))  # same weights (same seed), regulariser idle
    drop.train()
    torch.manual_seed(3)
    assert not torch.allclose(drop(tokens), plain(tokens))
    plain.train()
    assert torch.equal(plain(tokens), plain.eval()(tokens))  # "none" never changes anything


@pytest.mark.parametrize("regulariser", dropkey.REGULARISERS)
def test_variants_differ_only_in_the_regulariser(regulariser):
    torch.manual_seed(0)
    ref = dropkey.ResNet50Attention(4, "none").eval()
    torch.manual_seed(0)
    model = dropkey.ResNet50Attention(4, regulariser, rate=0.3).eval()
    assert [(n, p.shape) for n, p in ref.named_parameters()] == [(n, p.shape) for n, p in model.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), model.state_dict().values()))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ref(x), model(x))  # at inference the three heads are the same function
    assert model(x).shape == (2, 4)


def test_head_shapes_and_token_layout():
    head = dropkey.AttentionHead(32, 3, dim=8)
    assert head(torch.randn(2, 32, 4, 5)).shape == (2, 3)
    feats = torch.arange(2 * 3 * 4).float().reshape(1, 2, 3, 4)
    tokens = feats.flatten(2).transpose(1, 2)
    assert tokens.shape == (1, 12, 2) and tokens[0, 5].tolist() == [5.0, 17.0]  # row-major over the map


def test_frozen_backbone_stays_fixed_while_the_head_trains():
    torch.manual_seed(0)
    model = dropkey.ResNet50Attention(2, "dropkey", freeze_backbone=True)
    model.train()
    assert not model.layer4.training and model.head.training
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head")}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model(torch.randn(4, 3, 64, 64)).sum()
    loss.backward()
    opt.step()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # weights and BatchNorm statistics
    assert model.head.fc.weight.grad is not None


def test_bad_regulariser_or_rate_fails_clearly():
    with pytest.raises(ValueError, match="choose one of: none, dropout, dropkey"):
        dropkey.TokenAttention(4, 4, "droppath")
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        dropkey.TokenAttention(4, 4, "dropkey", 1.0)
