"""Does the site answer, in both languages, with its security headers?"""


def test_start_page_in_chinese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_owner_sees_own_units(client, make, login):
    community = make.community()
    user = make.user()
    unit = make.unit(community, area="123.45")
    make.own(make.person(community, user=user), unit)
    login(user)
    response = client.get(f"/c/{community.id}/?lang=en")
    assert response.status_code == 200
    assert "123.45" in response.get_data(as_text=True)



def test_overview_totals_are_exact(client, make, login):
    """Is the total area the exact sum of the units' areas, to the hundredth of a m²?"""
    from app.models import Role

    community = make.community()
    for area in ("68.42", "89.15", "0.01"):
        make.unit(community, area=area)
    login(make.user_with_role(Role.COMMITTEE, community))
    page = client.get(f"/c/{community.id}/?lang=en").get_data(as_text=True)
    assert "157.58" in page


def test_huge_or_unknown_community_id_is_404_not_500(client, make, login):
    from app.models import Role

    community = make.community()
    login(make.user_with_role(Role.OWNER, community))
    assert client.get("/c/99999999999999999999/").status_code == 404
    assert client.get("/c/2147483648/").status_code == 404
    assert client.get("/c/2147483647/").status_code == 404


def test_anonymous_cannot_probe_which_communities_exist(client, make):
    community = make.community()
    existing = client.get(f"/c/{community.id}/")
    missing = client.get("/c/2147483000/")
    assert existing.status_code == missing.status_code == 302


def test_overview_headcount_follows_the_electorate_rule(client, make, login):
    """Co-owners count once, an owner of two units once, the developer's units once together."""
    from app.models import Role

    community = make.community()
    co_a, co_b = make.person(community), make.person(community)
    shared = make.unit(community)
    make.own(co_a, shared)
    make.own(co_b, shared)
    twice = make.person(community)
    make.own(twice, make.unit(community))
    make.own(twice, make.unit(community))
    developer = make.person(community)
    developer.is_developer = True
    make.own(developer, make.unit(community))
    make.own(developer, make.unit(community))
    login(make.user_with_role(Role.COMMITTEE, community))
    page = client.get(f"/c/{community.id}/?lang=en").get_data(as_text=True)
    figure = page.split("Owners (headcount)")[1].split('class="stat">')[1].split("<")[0]
    assert figure == "3"
