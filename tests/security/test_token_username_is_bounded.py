"""An overlong username at the token endpoint is a 400, not a 500 on MariaDB.

django-axes records each failed sign-in's username in a 255-character column;
MariaDB refused a longer one with a DataError (SQLite does not check lengths).
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt


@pytest.mark.parametrize("length", [151, 300, 10_000])
def test_a_username_longer_than_the_user_model_allows_is_a_400(anonymous_client, db, length):
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "u" * length, "password": "x"}, format="json")

    assert response.status_code == 400
    assert "username" in response.json()
    assert not AccessAttempt.objects.exists()


def test_a_username_at_the_limit_is_an_ordinary_failed_sign_in(anonymous_client, db):
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "u" * 150, "password": "x"}, format="json")

    assert response.status_code == 401
