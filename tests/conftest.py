from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def viewer(db):
    """An active user with no special permission: may look, may not act."""
    return get_user_model().objects.create_user("viewer", password=PASSWORD)


@pytest.fixture
def inactive_user(db):
    return get_user_model().objects.create_user("gone", password=PASSWORD, is_active=False)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    client = APIClient()
    client.force_login(viewer)
    return client
