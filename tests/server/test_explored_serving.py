"""The server's logged searches are explored like Engine.search(log=True) (`[ranker] explore`): the page
returned is the page logged; the cache keeps the ranked page, so unlogged and cached answers are not
frozen in one explored order."""

from __future__ import annotations

import dataclasses
import shutil
import urllib.parse

import pytest

from shoplens.config import RankerSettings
from shoplens.feedback.log import FeedbackLog

from .conftest import LiveServer

pytestmark = pytest.mark.slow


def test_logged_server_search_returns_and_logs_the_explored_page(small_store, engine_config, tmp_path):
    from shoplens.server.app import create_app
    from shoplens.server.settings import ServerSettings

    store = tmp_path / "store"
    shutil.copytree(small_store, store, ignore=shutil.ignore_patterns(".lock", "feedback.sqlite*"))
    config = dataclasses.replace(engine_config, ranker=RankerSettings(explore=1.0))
    url = "/search?" + urllib.parse.urlencode({"q": "men shoes", "k": 10})
    with LiveServer(create_app(ServerSettings(store=store), config=config), store) as server:
        ranked = [r["id"] for r in server.get(url + "&log=0").json()["results"]]  # not logged: as ranked
        pages = [server.get(url).json() for _ in range(8)]  # logged (the default), served from the cache
        again = [r["id"] for r in server.get(url + "&log=0").json()["results"]]
    assert again == ranked and all(p["cached"] for p in pages)
    logged = {d["query_id"]: d for d in FeedbackLog(store).to_ubi() if "user_query" in d}
    shown = []
    for p in pages:
        ids = [r["id"] for r in p["results"]]
        doc = logged[p["query_id"]]
        assert doc["query_response_hit_ids"] == ids and sorted(ids) == sorted(ranked) and ids[0] == ranked[0]
        moved = [i for i, (a, b) in enumerate(zip(ids, ranked)) if a != b]
        assert [i for k in doc["query_attributes"]["explored"]["swapped"] for i in (k, k + 1)] == moved
        shown.append(tuple(ids))
    assert len(set(shown)) > 1  # drawn per request (8 pages all alike by chance: < 1e-5)
