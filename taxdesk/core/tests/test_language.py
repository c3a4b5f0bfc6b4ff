"""Pages speak Chinese by default whatever the browser asks; English by the switcher."""

import pytest


@pytest.mark.django_db
def test_pages_are_chinese_even_for_an_english_browser(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "登录" in response.content.decode()


@pytest.mark.django_db
def test_the_switcher_chooses_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in page
    assert "Log in to TaxDesk" in page


@pytest.mark.django_db
def test_the_api_answers_in_the_language_asked(client):
    english = client.get("/api/me/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/me/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 403
    assert english.json()["error"]["message"] != chinese.json()["error"]["message"]
