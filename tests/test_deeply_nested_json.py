"""A body nested thousands deep is malformed input: a 400 in the error shape, never a 500."""

from __future__ import annotations

import pytest

DEEP = "[" * 30000
DEEP_OBJECT = '{"a":' * 10000  # 50 KB: under the body limit


@pytest.mark.parametrize("path", ["/api/comments", "/api/preview", "/api/counts"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_400(client, stored, path, body):
    before = stored()
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and error["message"] == "The body is not valid JSON."
    assert stored() == before


def test_a_deep_body_on_the_no_js_form_is_refused_cleanly(client):
    response = client.post("/comments", data=DEEP, content_type="application/json")
    assert response.status_code in (400, 415)
