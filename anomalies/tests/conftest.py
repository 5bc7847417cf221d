import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The named users of the root conftest get passwords: hash them cheaply in these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
