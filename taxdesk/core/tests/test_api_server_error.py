"""An unexpected exception in an API view is a 500 in the API's one error shape (DEBUG off,
as in production), logged with its traceback."""

import logging

import pytest

from taxdesk.devices.api import DeviceViewSet


@pytest.fixture
def broken_list(monkeypatch):
    def explode(self, request, *args, **kwargs):
        raise RuntimeError("boom in a test")

    monkeypatch.setattr(DeviceViewSet, "list", explode)


def test_an_unexpected_error_is_a_json_500(cast, client_for, broken_list, settings, caplog):
    settings.DEBUG = False
    client = client_for(cast.admin_a)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="taxdesk.api"):
        response = client.get("/api/devices/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "服务器出错，错误已记录。",
            "fields": {},
        }
    }
    assert "boom in a test" not in response.content.decode()
    record = next(r for r in caplog.records if r.exc_info)
    assert record.exc_info[0] is RuntimeError and "/api/devices/" in record.getMessage()
