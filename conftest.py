"""Shared test fixtures: named people (SPEC §5 roles) and their customer accounts.

alice and bob are customers with a login each; ops, biller and support are staff in their groups.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from accounts.models import Customer, CustomerType, User
from accounts.roles import Role

PASSWORD = "correct-horse-battery"

# Browser tests drive Debian's chromium through Playwright (it cannot download its own browser here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
browser_test = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make browsers)"),
]


# axe-core (npm), installed by `make axe` into a folder git ignores: the browser tests' accessibility audit.
AXE_JS = Path(__file__).parent / ".cache/axe/node_modules/axe-core/axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one h1, heading order) that screen readers lean on.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="session")
def axe():
    """axe(page) -> the page's axe violations, as dicts {id, impact, help, targets}.

    Playwright's evaluate runs outside the page's Content-Security-Policy, so axe needs no nonce and
    the page under test is exactly the one customers get."""
    if not AXE_JS.exists():
        pytest.skip("axe-core is not installed: `make axe` (needs npm) puts it in .cache/axe")
    source = AXE_JS.read_text()

    def run(page, tags=AXE_TAGS) -> list[dict]:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        return page.evaluate(
            """async (tags) => {
                const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
                const result = await axe.run(document, options);
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                    targets: v.nodes.map(n => n.target.join(" ")),
                                                    why: v.nodes.map(n => n.failureSummary)}));
            }""",
            tags,
        )

    return run


@pytest.fixture(scope="module")
def browser():
    """A headless chromium for a module's browser tests."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def commits_to_the_database(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction"))
    return transactional or bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def migrated_data(request):
    """Rows the data migrations create (the role groups, the default rate schedule) back in place for tests
    that commit: the flush after each such test empties every table. (Serialized rollback cannot do it:
    Playwright's event loop gives the browser tests another connection object, without the snapshot.)"""
    if not commits_to_the_database(request):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps as django_apps

    from accounts.roles import sync_role_permissions

    sync_role_permissions()
    importlib.import_module("billing.migrations.0002_default_rate_schedule").create_default(django_apps, None)


def make_staff(email: str, role: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def make_customer(location_id: str, name: str, email: str | None = None, **fields) -> Customer:
    user = User.objects.create_user(email=email, password=PASSWORD) if email else None
    defaults = {
        "mailing_address": "1 Main St, Dallas, TX 75201",
        "customer_type": CustomerType.RESIDENTIAL,
        "cycle_number": 1,
        "phone": "(214) 555-0001",
    }
    return Customer.objects.create(location_id=location_id, name=name, user=user, **{**defaults, **fields})


@pytest.fixture
def ops(db):
    return make_staff("ops@test.hydrospark.com", Role.OPERATIONS)


@pytest.fixture
def biller(db):
    return make_staff("billing@test.hydrospark.com", Role.BILLING)


@pytest.fixture
def support(db):
    return make_staff("support@test.hydrospark.com", Role.SUPPORT)


@pytest.fixture
def alice_account(db):
    return make_customer("100000001", "Alice Archer", "alice@example.com")


@pytest.fixture
def bob_account(db):
    return make_customer("100000002", "Bob Brown", "bob@example.com", cycle_number=2)


@pytest.fixture
def alice(alice_account):
    return alice_account.user


@pytest.fixture
def bob(bob_account):
    return bob_account.user


@pytest.fixture
def people(ops, biller, support, alice, bob):
    """Every kind of visitor, by role name; None is the signed-out visitor."""
    return {"anonymous": None, "operations": ops, "billing": biller, "support": support, "customer": alice}


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client signed in as that user (or signed out for None)."""

    def _client_for(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return _client_for


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: ids repeat between tests (rolled back), so a run's heartbeat or a
    chart cached by one test would otherwise be another test's."""
    from django.core.cache import cache

    cache.clear()
    yield
