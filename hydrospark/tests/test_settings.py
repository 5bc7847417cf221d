import os
import subprocess
import sys

from django.conf import settings

# Variables a test run may set (browser tests allow sync DB access from Playwright's event loop).
TEST_ONLY = ("SECRET_KEY", "DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
SNIPPET = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def run_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, "-c", SNIPPET],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "hydrospark.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_site_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_settings({"DEBUG": "False"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_mode_starts_without_secret_key():
    assert run_settings({"DEBUG": "True"}).returncode == 0


def test_deploy_check_is_clean_with_only_secret_key_and_hosts():
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **clean,
            "SECRET_KEY": "k" * 30 + "Zq8#xP2!mN4$vB6&cR1*tY3@wU5^eI7(",
            "ALLOWED_HOSTS": "water.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
