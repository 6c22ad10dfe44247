"""Row-blocked feed-forward layers: each row of a product comes out with the same bits whatever the rows around it."""

import types

import pytest

torch = pytest.importorskip("torch")

from nps_nlp.encoders._precision import inference_autocast  # noqa: E402
from nps_nlp.encoders._row_blocks import ROWS, blocked_forward, make_batch_invariant  # noqa: E402


def _rows_that_change(layer, n_max=300):
    x = torch.randn(n_max, layer.in_features, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), inference_autocast():
        alone = [layer(x[i : i + 1]) for i in range(n_max)]
        return [m for m in range(1, n_max + 1)
                if not all(torch.equal(layer(x[:m])[i : i + 1], alone[i]) for i in (0, m // 2, m - 1))]


def test_a_blocked_layer_gives_every_row_the_same_bits_at_any_row_count():
    torch.manual_seed(0)
    layer = torch.nn.Linear(1536, 384).eval()
    layer.forward = types.MethodType(blocked_forward, layer)
    assert _rows_that_change(layer) == []


def test_blocks_keep_the_values_and_shapes_of_the_plain_layer():
    torch.manual_seed(0)
    plain = torch.nn.Linear(1536, 384).eval()
    blocked = torch.nn.Linear(1536, 384).eval()
    blocked.load_state_dict(plain.state_dict())
    blocked.forward = types.MethodType(blocked_forward, blocked)
    x = torch.randn(3, ROWS + 5, 1536)
    with torch.no_grad():
        a, b = plain(x), blocked(x)
    assert b.shape == a.shape == (3, ROWS + 5, 384)
    assert torch.allclose(a, b, atol=1e-4)
    blocked.train()  # training runs the plain product (autograd through one matmul)
    assert blocked(x).requires_grad


def test_the_encoder_blocks_its_feed_forward_outputs_only(tiny_encoder_dir):
    from nps_nlp.encoders import load_token_encoder

    encoder = load_token_encoder(str(tiny_encoder_dir))
    model = encoder.model
    assert encoder.row_blocks
    for layer in model.encoder.layer:
        assert layer.output.dense.forward.__func__ is blocked_forward
        assert layer.intermediate.dense.forward.__func__ is not blocked_forward
    assert not make_batch_invariant(torch.nn.Linear(4, 4))
