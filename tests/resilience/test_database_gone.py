"""An unreachable database gives clear 503s on /healthz, the API and the pages, not tracebacks.

Django runs in a child process whose DATABASE_URL points at a port nothing listens
on: the JWT's user, or the session, is looked up first, and that lookup is what fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.servers import REPO

CODE = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

token = AccessToken.for_user(get_user_model()(pk=1, username="viewer"))  # no database needed to sign it
api = Client().get("/api/v1/server/logs", HTTP_AUTHORIZATION=f"Bearer {token}")
client = Client()
client.cookies["sessionid"] = "x" * 32
page = client.get("/")
health = Client().get("/healthz")
print(json.dumps({
    "healthz": [health.status_code, health.content.decode()],
    "api": [api.status_code, api["Content-Type"], api.content.decode()],
    "page": [page.status_code, page.content.decode()],
}))
"""


def test_an_unreachable_database_gives_503_on_healthz_the_api_and_the_page(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wpdash.settings",
        "WPDASH_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "mysql://root@127.0.0.1:1/nothing",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", CODE], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])

    assert answers["healthz"] == [503, '{"status": "unavailable"}']  # and nothing more
    status, content_type, body = answers["api"]
    assert (status, content_type) == (503, "application/json")
    assert "database is unavailable" in json.loads(body)["detail"]
    status, body = answers["page"]
    assert status == 503
    assert "database is unavailable" in body
    assert "Traceback" not in result.stderr  # logged as one line, not a stack
