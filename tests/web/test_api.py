"""The JSON API under /api/v1, asked as questions a client would ask.

Tokens are personal access tokens (``ct_…``); the session cookie must never be enough. Every
error is ``{"error": {"code", "message"}}`` JSON with the right status.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.api.spec import PREFIX, api_routes, openapi_path, undocumented
from app.auth.services import create_token
from app.models import ApiToken, Role, utcnow
from app.policy import Permission, requires


@pytest.fixture
def token_for(db_session):
    """A fresh personal access token for ``user``, made by the real service."""

    def make_token(user) -> str:
        return create_token(db_session, user, "test", utcnow(), "127.0.0.1")

    return make_token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    return error


# Tokens and who is asking ------------------------------------------------------------------


def test_token_made_on_the_profile_page_reads_me(app, client, make, login, db_session):
    """Does a token created on the profile page work, and is its use recorded?"""
    community = make.community()
    user = make.user_with_role(Role.OWNER, community)
    login(user)
    page = client.post("/profile", data={"token-name": "my script"})
    assert page.status_code == 200
    token = re.search(r'id="new-token">(ct_[A-Za-z0-9_\-]+)<', page.get_data(as_text=True))[1]

    response = app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json["username"] == user.username
    assert response.json["communities"] == [
        {"id": community.id, "name": community.name, "district": community.district,
         "roles": ["owner"]}
    ]
    row = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    db_session.refresh(row)
    assert row.name == "my script"
    assert row.last_used_at is not None


def test_session_cookie_does_not_authenticate_the_api(client, make, login):
    """Can a signed-in browser (and so a cross-site form) use the API without a token?"""
    user = make.user()
    login(user)
    assert client.get("/profile").status_code == 200
    response = client.get("/api/v1/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    "header",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ct_not-a-real-token", "Bearer 完全不对"],
)
def test_missing_or_bad_token_is_401(client, header):
    """Is a missing, malformed or unknown token refused with a Bearer challenge?"""
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/me", headers=headers)
    assert_error(response, 401, "unauthorized")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert ('error="invalid_token"' in challenge) == bool(header)


def test_no_token_is_401_before_any_lookup(client):
    """Without a token, does a missing community still answer 401 (ids are not probed)?"""
    assert_error(client.get("/api/v1/communities/999999/units"), 401, "unauthorized")


def test_revoked_token_is_401(app, client, make, login, db_session):
    """Does revoking a token on the profile page stop it at once?"""
    user = make.user()
    login(user)
    page = client.post("/profile", data={"token-name": "old"})
    token = re.search(r'id="new-token">(ct_[^<]+)<', page.get_data(as_text=True))[1]
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    token_id = db_session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 302

    response = api.get("/api/v1/me", headers=bearer(token))
    assert_error(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_of_a_disabled_account_is_401(client, make, token_for, db_session):
    """Does disabling an account also disable its tokens?"""
    user = make.user()
    token = token_for(user)
    user.active = False
    db_session.flush()
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


# Communities -------------------------------------------------------------------------------


def test_communities_lists_only_mine_with_roles(client, make, token_for):
    """Does GET /communities show my communities, my roles, and nothing else?"""
    mine, theirs = make.community(name="甲小区"), make.community(name="乙小区")
    user = make.user_with_role(Role.OWNER, mine)
    make.grant(user, Role.COMMITTEE, mine)
    make.user_with_role(Role.OWNER, theirs)
    response = client.get("/api/v1/communities", headers=bearer(token_for(user)))
    assert response.status_code == 200
    assert response.json == {"items": [
        {"id": mine.id, "name": "甲小区", "district": mine.district,
         "roles": ["committee", "owner"]},
    ]}


@pytest.fixture
def overview(client, make, token_for):
    """An owner's view of a community of five units in one building."""
    community = make.community()
    building = make.building(community, name="1栋")
    for area in ("88.50", "0.01", "100", "123456.78"):
        make.unit(community, building=building, area=area)
    user = make.user()
    make.own(make.person(community, user=user), make.unit(community, building=building,
                                                          area="0.10"))
    response = client.get(f"/api/v1/communities/{community.id}", headers=bearer(token_for(user)))
    assert response.status_code == 200
    return community, building, response.json


def test_overview_has_register_figures(overview):
    """Does the overview give my roles, the office, the buildings and the register counts?"""
    community, building, body = overview
    assert body["roles"] == ["owner"]
    assert body["office"]["id"] == community.office_id
    assert body["buildings"] == [{"id": building.id, "name": "1栋"}]
    counts = {k: v for k, v in body["register"].items() if k != "total_area"}
    # Headcount follows elections.electorate: the four units with no owner recorded yet each
    # count as one owner, as they will in a vote.
    assert counts == {"buildings": 1, "units": 5, "owners": 5, "owners_with_account": 1}


def test_overview_total_area_is_exact(overview):
    """Is the total exclusive area the exact sum of the units' areas, as a string?"""
    assert overview[2]["register"]["total_area"] == "123645.39"


def test_another_community_is_403(client, make, token_for):
    """Can a member of one community read another one through the API?"""
    mine, theirs = make.community(), make.community()
    committee = make.user_with_role(Role.COMMITTEE, mine)
    headers = bearer(token_for(committee))
    assert client.get(f"/api/v1/communities/{mine.id}/units", headers=headers).status_code == 200
    for path in ("", "/units", "/my-units"):
        response = client.get(f"/api/v1/communities/{theirs.id}{path}", headers=headers)
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("community_id", ["999999", "2147483648", "99999999999999999999999"])
def test_missing_community_is_404(client, make, token_for, community_id):
    """Is a community that does not exist (even an impossible id) a JSON 404, not a 500?"""
    headers = bearer(token_for(make.user(admin=True)))
    response = client.get(f"/api/v1/communities/{community_id}/units", headers=headers)
    assert_error(response, 404, "not_found")


# Units of the register ---------------------------------------------------------------------


@pytest.fixture
def register(make):
    """Two buildings, seven units, a co-owned unit, and a staff member who may read it all."""
    community = make.community()
    b1, b2 = make.building(community, name="1栋"), make.building(community, name="2栋")
    units = [make.unit(community, building=b1, number=f"{f}0{n}", floor=f, area=a)
             for f, n, a in ((1, 1, "88.50"), (1, 2, "100"), (2, 1, "0.01"), (2, 2, "77.05"))]
    units += [make.unit(community, building=b2, number=f"30{n}", floor=3, area="120.30")
              for n in (1, 2, 3)]
    make.own(make.person(community, name="张三"), units[0])
    make.own(make.person(community, name="李四"), units[0])
    make.own(make.person(community, name="王五"), units[1])
    staff = make.user_with_role(Role.STAFF, community)
    return community, units, staff


def test_units_are_exact_strings_with_owners(client, register, token_for):
    """Are areas exact two-place strings (never floats), with the owners' names?"""
    community, units, staff = register
    response = client.get(f"/api/v1/communities/{community.id}/units?per_page=200",
                          headers=bearer(token_for(staff)))
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json["items"]}
    assert items[units[0].id] == {
        "id": units[0].id, "building": "1栋", "number": "101", "floor": 1, "area": "88.50",
        "use": "residential", "owners": ["张三", "李四"],
    }
    assert [items[u.id]["area"] for u in units[1:4]] == ["100.00", "0.01", "77.05"]
    assert items[units[6].id]["owners"] == []
    assert '"area":"88.50"' in response.get_data(as_text=True).replace(" ", "")
    assert all(isinstance(i["area"], str) for i in items.values())
    assert sum(Decimal(i["area"]) for i in items.values()) == Decimal("626.46")


def test_pages_cover_every_unit_once(client, register, token_for):
    """Do pages of 3 give every unit exactly once, in a stable order, and then an empty page?"""
    community, units, staff = register
    headers, seen = bearer(token_for(staff)), []
    url = f"/api/v1/communities/{community.id}/units"
    for page in (1, 2, 3):
        body = client.get(f"{url}?page={page}&per_page=3", headers=headers).json
        assert (body["page"], body["per_page"], body["total"], body["pages"]) == (page, 3, 7, 3)
        seen += [item["id"] for item in body["items"]]
    assert sorted(seen) == sorted(u.id for u in units)
    assert seen[:4] == [u.id for u in units[:4]]  # building, floor, number
    past_the_end = client.get(f"{url}?page=999999999&per_page=200", headers=headers)
    assert past_the_end.status_code == 200
    assert past_the_end.json["items"] == []
    assert client.get(url, headers=headers).json["per_page"] == 50


def test_building_filter(client, register, token_for):
    """Does ?building= keep only that building's units (and none for an unknown name)?"""
    community, _units, staff = register
    url, headers = f"/api/v1/communities/{community.id}/units", bearer(token_for(staff))
    body = client.get(f"{url}?building=2栋", headers=headers).json
    assert body["total"] == 3
    assert {i["building"] for i in body["items"]} == {"2栋"}
    assert client.get(f"{url}?building=9栋", headers=headers).json["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=abc", "per_page"),
        ("per_page=5000", "per_page"),
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=-1", "per_page"),
        ("per_page=2.5", "per_page"),
        ("page=0", "page"),
        ("page=%EF%BC%91", "page"),  # a full-width digit one
        ("page=99999999999999999999999999", "page"),
        ("page=1e3", "page"),
        ("building=%00", "building"),
        ("building=" + "x" * 81, "building"),
    ],
)
def test_bad_query_parameters_are_422(client, register, token_for, query, field):
    """Is a bad parameter a 422 that names it and says why, never a 500?"""
    community, _units, staff = register
    response = client.get(f"/api/v1/communities/{community.id}/units?{query}",
                          headers=bearer(token_for(staff)))
    error = assert_error(response, 422, "invalid_parameter")
    assert error["field"] == field
    assert field in error["message"]


def test_bounds_are_allowed(client, register, token_for):
    """Are per_page=1 and per_page=200 both accepted?"""
    community, _units, staff = register
    url, headers = f"/api/v1/communities/{community.id}/units", bearer(token_for(staff))
    assert len(client.get(f"{url}?per_page=1", headers=headers).json["items"]) == 1
    assert client.get(f"{url}?per_page=200", headers=headers).json["pages"] == 1


def test_owner_cannot_read_the_register_but_reads_own_units(client, register, make, token_for):
    """May an owner list the whole register? No; their own units, yes."""
    community, units, _staff = register
    owner, tenant = make.user(), make.user()
    make.own(make.person(community, user=owner), units[2])
    make.reside(make.person(community, user=tenant), units[2])
    headers = bearer(token_for(owner))
    url = f"/api/v1/communities/{community.id}"
    assert_error(client.get(f"{url}/units", headers=headers), 403, "forbidden")
    assert client.get(f"{url}/my-units", headers=headers).json == {"items": [
        {"id": units[2].id, "building": "1栋", "number": "201", "floor": 2, "area": "0.01",
         "use": "residential", "relation": "owner"},
    ]}
    tenant_units = client.get(f"{url}/my-units", headers=bearer(token_for(tenant))).json
    assert [(u["id"], u["relation"]) for u in tenant_units["items"]] == [
        (units[2].id, "resident")
    ]


# The API's own authorization matrix, with tokens -------------------------------------------

EVERY_ROLE = frozenset(Role)
#: Endpoint → (URL, roles allowed in their own community). Only admins reach other ones.
API_MATRIX = {
    "api.me": ("/api/v1/me", EVERY_ROLE),
    "api.communities": ("/api/v1/communities", EVERY_ROLE),
    "api.community": ("/api/v1/communities/{c}", EVERY_ROLE),
    "api.units": ("/api/v1/communities/{c}/units",
                  frozenset({Role.COMMITTEE, Role.CHAIR, Role.STAFF, Role.AUDITOR, Role.ADMIN})),
    "api.my_units": ("/api/v1/communities/{c}/my-units", frozenset({Role.OWNER, Role.RESIDENT})),
    "api.openapi": ("/api/v1/openapi.json", EVERY_ROLE),
}
_UNSCOPED = {"api.me", "api.communities", "api.openapi"}


def test_every_api_route_is_in_the_token_matrix(app):
    """Is there an access decision, with tokens, for every API endpoint?"""
    endpoints = {rule.endpoint for rule, _method in api_routes(app)}
    assert endpoints == API_MATRIX.keys()


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", list(Role))
def test_token_matrix(client, make, token_for, role, where):
    """With a token, can this role reach each API route in its own / another community?"""
    own, other = make.community(), make.community()
    user = make.user_with_role(role, own if where == "own" else other)
    headers, wrong = bearer(token_for(user)), []
    for endpoint, (url, allowed_roles) in API_MATRIX.items():
        allowed = role in allowed_roles and (
            where == "own" or endpoint in _UNSCOPED or role is Role.ADMIN
        )
        status = client.get(url.format(c=own.id), headers=headers).status_code
        if status != (200 if allowed else 403):
            wrong.append((endpoint, status))
    assert not wrong


# Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/communities/abc", "/api/v2/me"])
def test_unknown_api_path_is_json_404(client, path):
    """Is a 404 under /api/ JSON, not the HTML error page?"""
    assert_error(client.get(path), 404, "not_found")


def test_wrong_method_is_json_405_even_with_csrf_on(app, client, make, token_for):
    """Is POST on a read-only endpoint a JSON 405 with Allow (not a CSRF 400)?"""
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/me", headers=bearer(token_for(make.user())))
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_rate_limit_is_json_429(app, client, make, token_for):
    """Does a token that asks too often get a JSON 429 with Retry-After?"""
    app.config["API_RATE_LIMIT"] = "2 per minute"
    headers = bearer(token_for(make.user()))
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(2)] == [200] * 2
    response = client.get("/api/v1/me", headers=headers)
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0


def test_html_errors_stay_html(client):
    """Do pages outside /api/ keep the HTML error page?"""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# The OpenAPI document ----------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(doc: dict, pointer: str):
    assert pointer.startswith("#/"), pointer
    node = doc
    for part in pointer[2:].split("/"):
        node = node[part]
    return node


def test_openapi_lists_every_api_route(app, client):
    """Does openapi.json (public) describe every /api/v1 route, method and path parameter?"""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"][
            "bearerAuth"]["description"],
    }
    expected = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path == openapi_path(rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            expected.add((path, method.lower()))
            op = doc["paths"][path][method.lower()]
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(rule.arguments) == set(re.findall(r"{(\w+)}", path))
            assert all(p["required"] for p in op.get("parameters", []) if p["in"] == "path")
            assert "200" in op["responses"]
            public = app.view_functions[rule.endpoint].permission is Permission.PUBLIC
            assert op["security"] == ([] if public else [{"bearerAuth": []}])
            assert op["x-permission"] == str(app.view_functions[rule.endpoint].permission)
            if not public:
                assert "401" in op["responses"]
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert documented == expected
    operation_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for pointer in _refs(doc):
        assert _resolve(doc, pointer), pointer
    assert not undocumented(app)


def test_openapi_describes_the_unit_page(client):
    """Does the document say that areas are strings and per_page stops at 200?"""
    doc = client.get("/api/v1/openapi.json").json
    op = doc["paths"]["/api/v1/communities/{community_id}/units"]["get"]
    per_page = next(p for p in op["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 200
    assert doc["components"]["schemas"]["Unit"]["properties"]["area"]["type"] == "string"
    assert {"401", "403", "404", "422", "429"} <= op["responses"].keys()


def test_a_route_without_an_operation_is_caught(app):
    """Would a new API route without an @operation entry be noticed?"""

    @requires(Permission.ACCOUNT)
    def extra():
        return {}

    app.add_url_rule("/api/v1/extra/<int:thing_id>", "api_extra", extra)
    assert undocumented(app) == ["GET /api/v1/extra/<int:thing_id>"]
