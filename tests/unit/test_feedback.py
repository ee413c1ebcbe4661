import sqlite3

import pytest

from shoplens.errors import EventError
from shoplens.feedback.log import FeedbackLog


def test_feedback_log_roundtrip_and_validation(tmp_path):
    log = FeedbackLog(tmp_path)
    qid = log.log_query("men black shoes", ["1", "2", "3"], client_id="c1", user_id="u1")
    log.log_event("impression", "1", query_id=qid, position=0)
    log.log_event("click", "2", query_id=qid, position=1, dwell_ms=5200)
    with pytest.raises(EventError, match="'like'"):
        log.log_event("like", "2")
    with pytest.raises(EventError, match="position"):
        log.log_event("click", "2", position=-1)
    log.close()
    docs = list(FeedbackLog(tmp_path).to_ubi())  # survives reopening
    assert docs[0]["user_query"] == "men black shoes" and docs[0]["query_response_hit_ids"] == ["1", "2", "3"]
    assert docs[0]["user_id"] == "u1"
    click = docs[2]
    assert click["action_name"] == "click" and click["event_attributes"]["position"]["ordinal"] == 1
    assert click["event_attributes"]["object"]["object_id"] == "2" and click["query_id"] == qid
    assert click["event_attributes"]["dwell_time"] == 5200


def test_record_events_refuses_bad_ones_keeps_good_and_dedups(tmp_path):
    log = FeedbackLog(tmp_path)
    good = {
        "action_name": "click",
        "query_id": "q1",
        "timestamp": "2024-12-10T00:01:29.378Z",
        "event_attributes": {"object": {"object_id": "B07"}, "position": {"ordinal": 3}},
    }
    bad = [
        {"action_name": "click"},  # no object
        {"action_name": "teleport", "object_id": "x"},
        {"action_name": "click", "object_id": "x", "timestamp": "yesterday"},
        {"action_name": "click", "object_id": "x", "position": "first"},
        ["not", "an", "object"],
        {"action_name": "click", "object_id": "x" * 500},
    ]
    rep = log.record_events([good, *bad])
    assert rep.stored == 1 and rep.duplicates == 0
    assert [i for i, _ in rep.refused] == [1, 2, 3, 4, 5, 6]
    reasons = dict(rep.refused)
    assert "object_id" in reasons[1] and "teleport" in reasons[2] and "ISO-8601" in reasons[3]
    assert "position" in reasons[4] and "object" in reasons[5] and "200" in reasons[6]
    again = log.record_events([good])  # the same event imported twice counts once
    assert again.stored == 0 and again.duplicates == 1
    assert log.counts() == {"queries": 0, "events": 1}


def test_log_written_by_0_1_is_upgraded_in_place(tmp_path):
    db = sqlite3.connect(tmp_path / "feedback.sqlite")
    db.executescript("""
        CREATE TABLE queries (query_id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, client_id TEXT, user_query TEXT,
            query_response_object_ids TEXT, query_attributes TEXT);
        CREATE TABLE events (event_id INTEGER PRIMARY KEY AUTOINCREMENT, query_id TEXT, timestamp TEXT NOT NULL,
            action_name TEXT NOT NULL, client_id TEXT, session_id TEXT, object_id TEXT,
            position INTEGER, dwell_ms INTEGER, event_attributes TEXT);
        INSERT INTO queries VALUES ('q0', '2024-01-01T00:00:00Z', 'c', 'red dress', '["a","b"]', '{}');
        INSERT INTO events VALUES (1, 'q0', '2024-01-01T00:00:01Z', 'click', 'c', 's', 'b', 1, NULL, '{}');
    """)
    db.commit()
    db.close()
    log = FeedbackLog(tmp_path)
    docs = list(log.to_ubi())
    assert docs[0]["query_response_hit_ids"] == ["a", "b"]
    assert docs[1]["event_attributes"]["object"]["object_id"] == "b"
    log.log_event("click", "a", query_id="q0")
    assert log.counts() == {"queries": 1, "events": 2}
