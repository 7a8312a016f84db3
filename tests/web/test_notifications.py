"""In-site notices: each reader sees their own, in their own language, and can mark them read."""

from __future__ import annotations

from flask_babel import gettext as _

from app.models import Notification, Role, utcnow
from app.notifications.services import holders_of, notify, owners_of, unread_count


def test_a_notice_reaches_each_owner_once_in_both_languages(app, make, db_session):
    community = make.community()
    owner = make.user_with_role(Role.OWNER, community)
    make.user_with_role(Role.STAFF, community)
    with app.test_request_context():
        sent = notify(db_session, now=utcnow(), community=community,
                      recipients=[*owners_of(db_session, community), owner],
                      kind="test", message=lambda: (_("Notices"), _("No notices yet.")),
                      link="/notifications")
    assert sent == 1
    notice = db_session.query(Notification).one()
    assert notice.user_id == owner.id
    assert notice.text["en"]["title"] == "Notices"
    assert notice.text["zh_Hans_CN"]["title"] == "通知"


def test_holders_of_finds_community_and_office_roles(make, db_session):
    community = make.community()
    chair = make.user_with_role(Role.CHAIR, community)
    auditor = make.user_with_role(Role.AUDITOR, community)
    make.user_with_role(Role.CHAIR, make.community())
    assert set(holders_of(db_session, community, Role.CHAIR, Role.AUDITOR)) == {chair.id,
                                                                              auditor.id}


def test_a_reader_sees_only_their_notices_and_marks_them_read(app, client, make, db_session,
                                                             login):
    community = make.community()
    reader, other = make.user(), make.user()
    with app.test_request_context():
        for user, title in ((reader, "Notices"), (other, "New")):
            notify(db_session, now=utcnow(), community=community, recipients=[user],
                   kind="test", message=lambda t=title: (_(t), ""))
    login(reader)
    page = client.get("/notifications?lang=en").get_data(as_text=True)
    assert "Notices" in page
    assert ">New<" in page  # the badge of the unread notice
    assert unread_count(db_session, reader) == 1
    assert client.post("/notifications/read").status_code == 302
    assert unread_count(db_session, reader) == 0
    assert unread_count(db_session, other) == 1


def test_a_notice_links_inside_the_site_only(app, make, db_session):
    import pytest

    with app.test_request_context(), pytest.raises(ValueError, match="inside the site"):
        notify(db_session, now=utcnow(), community=None, recipients=[make.user()],
               kind="test", message=lambda: ("t", ""), link="https://evil.example")
