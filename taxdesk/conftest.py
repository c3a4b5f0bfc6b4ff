import pytest
from django.test import override_settings

from taxdesk.testing.cast import build_world


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """Uploaded files (import jobs and their rows) go to this test process's own folder,
    never to the project's ``var/media``, which the demo and parallel test processes share."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture
def cast(db):
    """The cast of users and their world (see taxdesk/testing/cast.py)."""
    return build_world()


@pytest.fixture
def client_for(client):
    """A test client signed in as someone: ``client_for(cast.admin_a)``."""
    from django.test import Client

    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests hash many passwords; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Each test gets an empty cache of its own: the API's throttle counts of one test (all
    test clients come from 127.0.0.1) must not refuse another's requests."""
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
