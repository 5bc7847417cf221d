"""WCAG 2.1 AA in a real browser (issue 17): axe-core over every page each role reaches, the keyboard on the
forms and the account menu, and a phone's touch targets on every portal page.

axe finds what a machine can (contrast, names, labels, landmarks, ARIA); the keyboard tests check what it
cannot (focus order, a visible focus ring, the skip link, the dropdown without a mouse)."""

import datetime
import os

import pytest

from anomalies.models import Method
from anomalies.notifications import customer_alerts_send
from anomalies.tests.factories import make_anomaly, make_incident
from billing.documents import send_bill_email
from billing.models import Bill
from billing.services import bill_run_compute
from conftest import AXE_TAGS, PASSWORD, browser_test
from metering.models import ImportRun
from portal.tests.conftest import give_reads

pytestmark = browser_test

OCTOBER = datetime.date(2026, 10, 1)
LOCATION = "100000001"

# Moderate or minor findings we keep, each with its reason (README: Accessibility). Anything serious or
# critical fails, and so does any other finding: a new one must be fixed or explained here and there.
ACCEPTED: dict[str, str] = {}


@pytest.fixture
def account(transactional_db, alice_account):
    """Alice with a year and a half of reads, an issued October bill, an incident and an anomalous day."""
    give_reads(alice_account, last=datetime.date(2026, 11, 19))
    bill_run_compute(period=OCTOBER, issue=True, actor_label="test", today=datetime.date(2026, 11, 3))
    day = datetime.date(2026, 11, 12)
    return {
        "bill": Bill.objects.get(customer=alice_account, period=OCTOBER),
        "incident": make_incident(alice_account, day),
        "anomaly": make_anomaly(alice_account, day, method=Method.ROLLING),
        "import": ImportRun.objects.create(source="upload", actor_label="test", file_name="reads.csv"),
    }


def pages_of(role: str, account: dict) -> list[str]:
    """Every page the role reaches from its navigation, with one of each detail page; 403/404 included."""
    bill, incident, anomaly = account["bill"].pk, account["incident"].pk, account["anomaly"].pk
    customer = f"/staff/customers/{LOCATION}/"
    staff = ["/staff/", "/staff/customers/?q=Alice", customer, "/staff/analytics/", "/staff/audit/"]
    staff += ["/staff/anomalies/", f"/staff/anomalies/incidents/{incident}/", "/staff/billing/"]
    staff += ["/staff/no-such-page/"]
    return {
        "anonymous": ["/accounts/login/", "/accounts/password/reset/", "/accounts/password/reset/done/", "/nowhere/"],
        "customer": [
            "/portal/",
            "/portal/usage/",
            "/portal/usage/?range=30d",
            "/portal/bills/",
            f"/portal/bills/{bill}/",
            "/portal/payments/",
            "/portal/profile/",
            "/accounts/email/",
            "/accounts/password/change/",
            "/staff/",  # 403
            "/portal/bills/999999/",  # 404
        ],
        "operations": staff
        + [
            "/staff/metering/imports/",
            "/staff/metering/reads/",
            f"/staff/metering/reads/{LOCATION}/",
            "/staff/anomalies/days/",
            f"/staff/anomalies/{anomaly}/",
            f"/staff/metering/imports/{account['import'].pk}/",
            "/staff/billing/payment-imports/",
        ],
        "billing": staff
        + [
            "/staff/billing/runs/?period=2026-10",
            f"/staff/billing/bills/{bill}/",
            "/staff/billing/payment-imports/",
            f"/staff/billing/customers/{LOCATION}/adjust/",
            "/staff/billing/rebill/",
            "/staff/metering/imports/",  # 403
        ],
        "support": staff + [f"{customer}edit/", f"/staff/billing/bills/{bill}/"],
    }[role]


def new_page(browser, live_server, *, width=1280, height=900):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


# A chart is described by its summary or its table (aria-describedby or aria-labelledby to text on the page):
# its alt or title names it, the figures it shows are readable without it.
CHARTS = """() => [...document.querySelectorAll("figure img, figure svg, svg[role=img]")]
    .filter(chart => !chart.parentElement.closest("svg"))
    .filter(chart => {
        const ids = `${chart.getAttribute("aria-describedby") || ""} ${chart.getAttribute("aria-labelledby") || ""}`;
        return !ids.split(/\\s+/).some(id => id && document.getElementById(id)?.textContent.trim());
    })
    .map(chart => chart.outerHTML.slice(0, 100))"""


def audit(page, axe, base, paths) -> dict[str, list]:
    """{path: [(rule, impact, nodes)]} for each page with a finding axe does not accept."""
    found = {}
    for path in paths:
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert response.status in (200, 403, 404), (path, response.status)
        everything = axe(page)
        if os.environ.get("AXE_REPORT"):  # the counts README gives: AXE_REPORT=1 pytest -s this file
            print("AXE", path, [(v["id"], v["impact"], len(v["targets"])) for v in everything])
            for v in everything:
                print("  ", v["id"], list(zip(v["targets"], v["why"], strict=True)))
        violations = [v for v in everything if v["id"] not in ACCEPTED]
        violations += [{"id": "chart-alternative", "impact": "serious", "targets": [c]} for c in page.evaluate(CHARTS)]
        title = page.title()
        if not title.split("·")[0].strip():  # WCAG 2.4.2: each page says what it is before the site's name
            violations.append({"id": "page-title", "impact": "serious", "targets": [title]})
        if violations:
            found[path] = [(v["id"], v["impact"], v["targets"][:3]) for v in violations]
    return found


@pytest.mark.parametrize("role", ["anonymous", "customer", "operations", "billing", "support"])
def test_every_page_each_role_reaches_has_no_axe_violation(browser, live_server, axe, account, people, role):
    page = new_page(browser, live_server)
    if people[role] is not None:
        sign_in(page, live_server, people[role].email)
    assert audit(page, axe, live_server.url, pages_of(role, account)) == {}


def test_forms_with_errors_have_no_axe_violation(browser, live_server, axe, account, alice):
    """Errors are announced: a wrong password on the login form, a bad phone number on the profile."""
    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert [(v["id"], v["impact"]) for v in axe(page) if v["id"] not in ACCEPTED] == []
    page.goto(f"{live_server.url}/accounts/password/reset/")
    page.fill("input[name=email]", "not an address")
    page.evaluate("document.querySelector('input[name=email]').form.noValidate = true")  # the server's refusal
    page.get_by_role("button", name="Reset My Password").click()
    page.wait_for_load_state()
    assert page.locator("input[name=email]").get_attribute("aria-invalid") == "true"
    assert [(v["id"], v["impact"]) for v in axe(page) if v["id"] not in ACCEPTED] == []


def test_badges_of_every_status_keep_aa_contrast_on_cards_and_on_the_page(browser, live_server, axe, db):
    """Every badge colour the templates use, on a card and on the tinted page: axe's contrast rule on each."""
    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        """(kinds) => {
            const box = document.querySelector("main");
            for (const where of ["card", "page"]) {
                const holder = document.createElement("div");
                holder.className = where === "card" ? "card card-body" : "";
                holder.innerHTML = kinds.map(k => `<span class="badge text-bg-${k}">Partially paid</span>`).join(" ")
                    + ' <span class="badge bg-success">Paid</span> <span class="badge bg-danger">Overdue</span>';
                box.append(holder);
            }
        }""",
        ["primary", "secondary", "success", "danger", "warning", "info", "light", "dark"],
    )
    badges = [v for v in axe(page) if v["id"] == "color-contrast"]
    assert badges == []


def tab_to(page, selector: str, limit: int = 40):
    """Press Tab until the focus is on `selector` (as a keyboard user would), or fail."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_the_skip_link_is_the_first_tab_stop_visible_and_moves_past_the_menu(browser, live_server, account, alice):
    page = new_page(browser, live_server)
    sign_in(page, live_server, alice.email)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("(a) => a === document.activeElement")
    box = skip.bounding_box()
    assert box["width"] > 40 and box["height"] > 16  # shown when focused, not a 1px clip
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")


def test_the_account_menu_opens_walks_and_closes_with_the_keyboard(browser, live_server, account, alice):
    page = new_page(browser, live_server)
    sign_in(page, live_server, alice.email)
    tab_to(page, ".dropdown-toggle")
    menu = page.locator(".dropdown-menu")
    page.keyboard.press("Enter")
    assert menu.is_visible() and page.locator(".dropdown-toggle").get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Change password"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Sign out"
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    assert page.evaluate("() => document.activeElement.matches('.dropdown-toggle')")
    page.keyboard.press(" ")  # a real button: Space opens it too
    assert menu.is_visible()


# Every visible control, named: a radio group is one Tab stop, so its radios share the group's name.
CONTROLS = """() => [...document.querySelectorAll(
        "a[href], button, input:not([type=hidden]), select, textarea, summary")]
    .filter(e => e.checkVisibility() && !e.disabled)
    .map((e, i) => e.dataset.hsControl = e.type === "radio" ? `radio ${e.name}` : `${i} ${e.outerHTML.slice(0, 80)}`)"""

FOCUS_RING = """() => {
    const e = document.activeElement;
    if (!e.matches(":focus") && e.matches("input[type=month], input[type=date]")) {
        // the calendar button of Chromium's month and date inputs, a tab stop of its own: getComputedStyle
        // cannot see its focus state, so look for our rule (a screenshot shows the ring it draws)
        const rules = [...document.styleSheets].flatMap(sheet => [...sheet.cssRules]);
        const ringed = rules.some(rule => (rule.selectorText || "").includes("picker-indicator:focus-visible"));
        return ringed ? null : e.outerHTML.slice(0, 120);
    }
    const style = getComputedStyle(e);
    const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    return ring ? null : (e.outerHTML.slice(0, 120));
}"""


@pytest.mark.parametrize(
    "role, path",
    [
        ("anonymous", "/accounts/login/"),
        ("customer", "/portal/profile/"),
        ("customer", "/portal/"),
        ("customer", "/portal/usage/"),
        ("billing", "/staff/billing/"),
        ("billing", "/staff/billing/runs/?period=2026-10"),
        ("support", f"/staff/customers/{LOCATION}/edit/"),
        ("operations", "/staff/metering/imports/"),
    ],
)
def test_every_control_is_reached_by_tab_and_shows_a_focus_ring(browser, live_server, account, people, role, path):
    page = new_page(browser, live_server)
    if people[role] is not None:
        sign_in(page, live_server, people[role].email)
    page.goto(live_server.url + path)
    controls = set(page.evaluate(CONTROLS))
    assert len(controls) > 5
    reached, unringed = set(), []
    for _ in range(250):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        reached.add(page.evaluate("() => document.activeElement.dataset.hsControl"))
        if missing := page.evaluate(FOCUS_RING):
            unringed.append(missing)
    assert unringed == []
    assert controls - reached == set(), "controls a keyboard cannot reach"


def test_a_customer_signs_in_and_saves_the_profile_with_the_keyboard_alone(browser, live_server, account, alice):
    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    tab_to(page, "input[name=login]")
    page.keyboard.type(alice.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/")
    page.goto(f"{live_server.url}/portal/profile/")
    tab_to(page, "input[name=phone]")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("(469) 555-0123")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("Contact details saved.").is_visible()


def test_a_refused_field_is_marked_invalid_and_described_by_its_error(browser, live_server, axe, account, alice):
    page = new_page(browser, live_server)
    sign_in(page, live_server, alice.email)
    page.goto(f"{live_server.url}/portal/profile/")
    page.fill("input[name=phone]", "call me")
    page.get_by_role("button", name="Save contact details").click()
    phone = page.locator("input[name=phone]")
    assert phone.get_attribute("aria-invalid") == "true"
    described = phone.get_attribute("aria-describedby").split()
    said = " ".join(page.locator(f"[id='{ref}']").inner_text() for ref in described)
    assert "phone" in said.lower()
    assert [(v["id"], v["impact"]) for v in axe(page) if v["id"] not in ACCEPTED] == []


PORTAL = [
    "/portal/",
    "/portal/usage/",
    "/portal/usage/?range=30d",
    "/portal/usage/?range=all",
    "/portal/bills/",
    "BILL",
    "/portal/payments/",
    "/portal/profile/",
    "/accounts/email/",
    "/accounts/password/change/",
]

# The targets a finger must hit: WCAG 2.5.8 asks 24 x 24 px, links inside a sentence excepted. A check box
# counts with its label, which clicks it too.
SMALL_TARGETS = """() => {
    const inSentence = (e) => getComputedStyle(e).display === "inline"
        && e.parentElement.textContent.trim() !== e.textContent.trim();
    const box = (e) => {
        let r = e.getBoundingClientRect();
        for (const label of (e.labels || [])) {
            const l = label.getBoundingClientRect();
            r = new DOMRect(Math.min(r.left, l.left), Math.min(r.top, l.top),
                            Math.max(r.right, l.right) - Math.min(r.left, l.left),
                            Math.max(r.bottom, l.bottom) - Math.min(r.top, l.top));
        }
        return r;
    };
    return [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")]
        .filter(e => e.checkVisibility() && !e.matches(".visually-hidden-focusable:not(:focus)") && !inSentence(e))
        .map(e => [e.outerHTML.slice(0, 100), box(e)])
        .filter(([, r]) => r.width < 24 || r.height < 24)
        .map(([html, r]) => `${html} is ${Math.round(r.width)}x${Math.round(r.height)}`);
}"""


def test_every_portal_page_on_a_phone_has_touch_targets_of_24px_no_sideways_scroll_and_no_axe_violation(
    browser, live_server, axe, account, alice
):
    page = new_page(browser, live_server, width=390, height=844)
    sign_in(page, live_server, alice.email)
    small, wide, found = {}, {}, {}
    for path in PORTAL:
        url = f"/portal/bills/{account['bill'].pk}/" if path == "BILL" else path
        assert page.goto(live_server.url + url).status == 200
        page.wait_for_load_state("networkidle")
        if targets := page.evaluate(SMALL_TARGETS):
            small[url] = targets
        if (overflow := page.evaluate("document.documentElement.scrollWidth - innerWidth")) > 0:
            wide[url] = overflow
        if violations := [(v["id"], v["impact"]) for v in axe(page) if v["id"] not in ACCEPTED]:
            found[url] = violations
    assert small == {}, "\n".join(f"{url}: {target}" for url, targets in small.items() for target in targets)
    assert wide == {}, "pixels wider than a 390 px phone"
    assert found == {}


def test_the_bill_and_usage_alert_emails_html_has_no_axe_violation(browser, axe, account, alice_account, mailoutbox):
    """What mail clients show: WCAG's rules, not the page landmarks (a mail client wraps the message in its own)."""
    send_bill_email(account["bill"], to=alice_account.user.email)
    alice_account.notify_usage_alerts = True
    alice_account.save(update_fields=["notify_usage_alerts"])
    assert customer_alerts_send(today=datetime.date(2026, 11, 15)) == 1
    page = browser.new_context().new_page()
    found = {}
    for message in mailoutbox:
        page.set_content(message.alternatives[0][0])
        wcag = [tag for tag in AXE_TAGS if tag != "best-practice"]
        if violations := [(v["id"], v["impact"], v["targets"][:3]) for v in axe(page, wcag)]:
            found[message.subject] = violations
    assert len(mailoutbox) == 2 and found == {}


def test_every_chart_a_customer_sees_is_described_and_the_check_catches_one_that_is_not(
    browser, live_server, account, alice
):
    page = new_page(browser, live_server)
    sign_in(page, live_server, alice.email)
    for path in ["/portal/", "/portal/usage/", f"/portal/bills/{account['bill'].pk}/"]:
        page.goto(live_server.url + path)
        assert page.locator("figure.chart img, figure.chart svg").count() >= 1
        assert page.evaluate(CHARTS) == []
    page.evaluate("""() => document.querySelector("main").insertAdjacentHTML(
        "beforeend", '<figure><img src="/static/x.svg" alt="Chart" aria-describedby="nowhere"></figure>')""")
    assert len(page.evaluate(CHARTS)) == 1
