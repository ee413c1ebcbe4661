"""Heads with title and attribute members: roles saved with the heads, a query's members weighted
without touching stored vectors, and heads without roles read exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.align import AlignConfig, Heads
from shoplens.align.heads import ensemble_heads, ensemble_members
from shoplens.align.train import train_heads
from shoplens.config import QualityConfig
from shoplens.search.members import member_weights
from tests.unit.test_align_heads import CFG, synthetic


@pytest.fixture(scope="module")
def mixed():
    data = synthetic()
    cfg = CFG.with_(epochs=3, ensemble=3, title_members=1, title_loss_weight=1.0)
    heads, _ = train_heads(data, cfg, train_idx=np.arange(200), val_idx=np.zeros(0, int), progress=False)
    return data, heads


def test_recipe_gives_title_loss_to_the_last_members_only():
    cfg = AlignConfig(ensemble=3, title_members=1, title_loss_weight=0.5, seed=4)
    assert [(m.seed, m.title_loss_weight) for m in map(cfg.member, range(3))] == [(4, 0.0), (5, 0.0), (6, 0.5)]
    assert cfg.member_roles() == ["attributes", "attributes", "title"]
    plain = AlignConfig(ensemble=3, title_loss_weight=0.5)  # title_members 0: every member as before
    assert plain.member_roles() is None and {plain.member(m).title_loss_weight for m in range(3)} == {0.5}


def test_weighted_query_scores_the_weighted_mean_of_member_cosines(mixed, tmp_path):
    data, heads = mixed
    assert heads.member_roles == ["attributes", "attributes", "title"]
    back = Heads.load(heads.save(tmp_path / "h"))
    assert back.member_roles == heads.member_roles
    img, txt = heads.embed_image(data.image), heads.embed_text(data.text)
    per = np.stack([(txt[:, m * 32 : (m + 1) * 32] @ img[:, m * 32 : (m + 1) * 32].T) * 3 for m in range(3)])
    w = {"attributes": 0.25, "title": 0.75}
    got = np.stack([heads.weight_members(v, w) for v in txt]) @ img.T
    want = (0.25 * per[0] + 0.25 * per[1] + 0.75 * per[2]) / 1.25
    assert np.allclose(got, want, atol=1e-5)
    # equal weights = the plain mean: the vector comes back unchanged
    v = txt[0]
    assert heads.weight_members(v, {"attributes": 1.0, "title": 1.0}) is v


def test_heads_without_roles_are_read_as_before(mixed):
    data, heads = mixed
    plain = ensemble_heads(ensemble_members(heads))  # same towers, no roles
    assert plain.member_roles == []
    v = plain.embed_text(data.text)[0]
    assert plain.weight_members(v, {"attributes": 1.0, "title": 0.0}) is v
    # splitting and joining again is exact
    assert np.allclose(plain.embed_image(data.image), heads.embed_image(data.image), atol=1e-5)


def test_query_shape_decides_the_members():
    q = QualityConfig()
    assert member_weights(1.0, q) == {"attributes": 1.0, "title": 0.0}  # "men black shoes"
    assert member_weights(0.6, q) == {"attributes": 0.0, "title": 1.0}  # "puma men black running shoes"
    assert member_weights(0.0, q)["title"] == 1.0  # nothing understood: a name
    half = member_weights(0.6, q.with_(title_member_share=0.5))
    assert half == {"attributes": 0.5, "title": 0.5}
