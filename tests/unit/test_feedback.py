import pytest

from shoplens.feedback.log import FeedbackLog


def test_feedback_log_roundtrip_and_validation(tmp_path):
    log = FeedbackLog(tmp_path)
    qid = log.log_query("men black shoes", ["1", "2", "3"], client_id="c1")
    log.log_event("impression", "1", query_id=qid, position=0)
    log.log_event("click", "2", query_id=qid, position=1, dwell_ms=5200)
    with pytest.raises(ValueError, match="unknown action 'like'"):
        log.log_event("like", "2")
    with pytest.raises(ValueError, match="position"):
        log.log_event("click", "2", position=-1)
    log.close()
    docs = list(FeedbackLog(tmp_path).to_ubi())  # survives reopening
    assert docs[0]["user_query"] == "men black shoes" and docs[0]["query_response_object_ids"] == ["1", "2", "3"]
    click = docs[2]
    assert click["action_name"] == "click" and click["event_attributes"]["position"]["ordinal"] == 1
    assert click["event_attributes"]["object"]["object_id"] == "2" and click["query_id"] == qid
