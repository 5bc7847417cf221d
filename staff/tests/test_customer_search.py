import pytest

from accounts.selectors import customer_search
from conftest import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(db):
    return {
        "alice": make_customer("100000001", "Alice Archer", "alice@example.com", phone="(214) 555-0101"),
        "bob": make_customer("100000002", "Bob Brown", "bob@example.com", phone="214-555-0202"),
        "carla": make_customer("200000003", "Carla Alvarez", phone="(972) 555-0303", business_name="Oak Bakery"),
    }


def locations(query):
    return [c.location_id for c in customer_search(query=query)]


def test_search_finds_a_customer_by_the_start_of_the_name_in_any_case(customers):
    assert locations("ali") == ["100000001"]
    assert locations("ALICE ARCHER") == ["100000001"]


def test_search_finds_a_customer_by_a_word_inside_the_name_or_business(customers):
    assert locations("archer") == ["100000001"]
    assert locations("bakery") == ["200000003"]


def test_search_finds_a_customer_by_exact_location_id_and_by_its_first_digits(customers):
    assert locations("200000003") == ["200000003"]
    assert locations("10000000") == ["100000001", "100000002"]


def test_search_finds_a_customer_by_phone_written_any_way(customers):
    for query in ["(214) 555-0101", "2145550101", "214-555-0101", "214.555.0101", "+1 214 555 0101", "555-0101"]:
        assert locations(query) == ["100000001"], query
    assert locations("2145550202") == ["100000002"]  # stored as 214-555-0202


def test_search_finds_a_customer_by_email_in_any_case_and_by_its_start(customers):
    assert locations("Bob@Example.com") == ["100000002"]
    assert locations("alice@") == ["100000001"]


def test_an_exact_location_id_answers_alone_and_a_partial_one_lists_all_it_starts(customers):
    make_customer("1000000011", "Zed Zulu")
    assert locations("100000001") == ["100000001"]
    assert locations("1000000") == ["100000001", "100000002", "1000000011"]


def test_search_returns_at_most_the_limit(db):
    for i in range(12):
        make_customer(f"3000000{i:02d}", f"Dana Doe {i}")
    assert len(customer_search(query="dana", limit=10)) == 10


def test_search_for_nothing_or_blanks_finds_nothing(customers):
    assert customer_search(query="") == []
    assert customer_search(query="   ") == []
    assert locations("nobody-like-this") == []


def test_search_treats_like_wildcards_as_plain_characters(customers):
    assert locations("%") == []
    assert locations("_") == []


def test_the_search_page_lists_type_cycle_and_address(client_for, support, customers):
    html = client_for(support).get("/staff/customers/", {"q": "carla"}).content.decode()
    assert "Carla Alvarez" in html and "Commercial" not in html  # she is residential (the default)
    assert "Residential" in html and "1 Main St, Dallas, TX 75201" in html
    assert 'href="/staff/customers/200000003/"' in html


def test_the_search_page_says_when_nothing_matches(client_for, support, customers):
    html = client_for(support).get("/staff/customers/", {"q": "zzz"}).content.decode()
    assert "No customer matches" in html


def test_the_search_page_refuses_an_overlong_query_with_a_message(client_for, support):
    response = client_for(support).get("/staff/customers/", {"q": "x" * 500})
    assert response.status_code == 200
    assert b"at most 200 characters" in response.content


def test_an_exact_location_id_opens_the_customer_page(client_for, support, customers):
    response = client_for(support).get("/staff/customers/", {"q": " 200000003 "})
    assert response.status_code == 302 and response["Location"] == "/staff/customers/200000003/"
