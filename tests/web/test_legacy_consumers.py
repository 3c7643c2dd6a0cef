"""The admin list of legacy consumers (/admin/lti/consumers) and `flask --app wsgi lti consumers list`."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Lti11Consumer
from app.models.base import utcnow
from tests import factories
from tests.helpers import login


@pytest.fixture
def consumers(app):
    course = factories.make_course("BIO", "Biology")
    first = factories.make_resource(course, legacy=True, name="Cells")
    second = factories.make_resource(course, legacy=True, name="Tissues <b>")
    now = utcnow()
    db.session.add_all([
        Lti11Consumer(published_resource_id=first.id, consumer_key="moodle-key", name="Old name", guid="old",
                      version="3.9", last_access_at=now - timedelta(days=2)),
        Lti11Consumer(published_resource_id=second.id, consumer_key="moodle-key", name="School <Moodle>",
                      guid="moodle.school", version="4.1", last_access_at=now - timedelta(hours=1)),
        Lti11Consumer(published_resource_id=first.id, consumer_key="proxy-guid", secret="topsecretsharedvalue",
                      lti_version="LTI-2p0", name="Sakai", guid="sakai.school", version="sakai-23"),
    ])
    db.session.commit()
    return first, second


def test_admins_see_each_key_with_its_latest_details_and_resources(client, admin, consumers):
    login(client, "admin")
    response = client.get("/admin/lti/consumers")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<h1>Legacy consumers</h1>" in text
    for header in ("Consumer key", "Name", "GUID", "Version", "Resources", "Last access"):
        assert f'<th scope="col">{header}</th>' in text
    assert "School &lt;Moodle&gt;" in text and "Old name" not in text
    assert "Tissues &lt;b&gt;" in text and "Cells" in text
    assert f"/course/{consumers[0].course_id}/lti?tab=legacy" in text
    assert "sakai-23" in text and "Never" in text
    assert "topsecretsharedvalue" not in text
    assert 'aria-current="page"' in text and ">Legacy consumers</a>" in text


def test_only_admins_may_look(client, consumers):
    assert client.get("/admin/lti/consumers").status_code == 302
    factories.make_user("teacher")
    login(client, "teacher")
    assert client.get("/admin/lti/consumers").status_code == 403


def test_an_empty_list_says_so(client, admin):
    login(client, "admin")
    assert "No legacy consumer has launched or registered a resource yet." in client.get(
        "/admin/lti/consumers").get_data(as_text=True)


def test_the_cli_lists_the_same_consumers(runner, consumers):
    result = runner.invoke(args=["lti", "consumers", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["consumer_key"] for row in rows] == ["moodle-key", "proxy-guid"]
    assert rows[0]["name"] == "School <Moodle>" and rows[0]["version"] == "4.1"
    assert sorted(resource["name"] for resource in rows[0]["resources"]) == ["Cells", "Tissues <b>"]
    assert rows[1]["lti_version"] == "LTI-2p0" and rows[1]["last_access"] is None
    assert "topsecretsharedvalue" not in result.output
    text = runner.invoke(args=["lti", "consumers", "list"])
    assert text.exit_code == 0 and "consumer_key: moodle-key" in text.output and "last_access: Never" in text.output
