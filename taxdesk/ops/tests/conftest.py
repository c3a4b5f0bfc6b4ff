import os
import shutil
from urllib.parse import urlsplit, urlunsplit

import pytest

from .harness import Site, create_database, drop_database, postgres_server


@pytest.fixture
def new_site(tmp_path):
    """Makes installations of the kind this run tests: PostgreSQL when DATABASE_URL names a
    PostgreSQL server (databases ``taxdesk_deploy`` and ``taxdesk_deploy_<name>`` there, with
    the pytest-xdist worker's id after ``taxdesk_deploy`` in a parallel run; dropped
    afterwards), else SQLite files under tmp_path (the embedded default).

    ``new_site("main")`` has an empty database; ``create=False`` leaves none (a restore makes
    it)."""
    server = postgres_server()
    if server and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("the PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    databases = []

    def make(name: str, *, create: bool = True, **settings) -> Site:
        var_dir = tmp_path / name
        var_dir.mkdir()
        if server is None:
            return Site(var_dir, None, settings)
        # One set per pytest-xdist worker: tests running at once never share a database.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        database = "_".join(
            part for part in ("taxdesk_deploy", worker, "" if name == "main" else name) if part
        )
        if create:
            create_database(server, database)
        else:
            drop_database(server, database)
        databases.append(database)
        parts = urlsplit(server)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
        return Site(var_dir, url, settings)

    yield make
    for database in databases:
        drop_database(server, database)
