"""GET /lti/v1/cartridge/{tool_id}/{token}.xml."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from app.extensions import db
from app.models import Activity
from tests import factories

NS = {"blti": "http://www.imsglobal.org/xsd/imsbasiclti_v1p0", "lticp": "http://www.imsglobal.org/xsd/imslticp_v1p0"}
BAD_TOKEN = "The token was incorrect. Please check the URL and try again, or contact the administrator of this tool."


@pytest.fixture
def course(app):
    course = factories.make_course("BIO", "Biology & Life")
    course.summary_html = "<p>Cells &amp; <em>tissues</em></p><script>alert(1)</script>"
    db.session.commit()
    return course


def test_the_cartridge_describes_the_resource(client, course):
    resource = factories.make_resource(course, legacy=True)
    response = client.get(f"/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(response.data)
    assert root.tag == "{http://www.imsglobal.org/xsd/imslticc_v1p0}cartridge_basiclti_link"
    assert root.findtext("blti:title", namespaces=NS) == "Biology & Life"
    assert root.findtext("blti:description", namespaces=NS) == "Cells & tissues"
    assert root.findtext("blti:launch_url", namespaces=NS) == f"http://127.0.0.1:5000/lti/v1/launch/{resource.id}"
    assert root.find("blti:secure_launch_url", NS) is None  # the test site is plain http
    assert root.findtext("blti:vendor/lticp:url", namespaces=NS) == "http://127.0.0.1:5000/"
    assert root.findtext("blti:vendor/lticp:code", namespaces=NS) == "courseport"


def test_an_activity_cartridge_uses_the_instance_name_and_activity_description(client, course):
    activity = Activity(course_id=course.id, type="page", name="Reading", description_html="<b>Read</b> this")
    db.session.add(activity)
    db.session.commit()
    resource = factories.make_resource(course, activity, legacy=True, name="Week <1>")
    root = ElementTree.fromstring(client.get(f"/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml").data)
    assert root.findtext("blti:title", namespaces=NS) == "Week <1>"
    assert root.findtext("blti:description", namespaces=NS) == "Read this"


def test_wrong_or_missing_tokens_are_refused(client, course):
    resource = factories.make_resource(course, legacy=True)
    for path in (f"/lti/v1/cartridge/{resource.id}/{'0' * 32}.xml", f"/lti/v1/cartridge/{resource.id + 50}/"
                 f"{resource.legacy_token}.xml", f"/lti/v1/cartridge/{resource.id}/{resource.legacy_token[:-1]}.xml"):
        response = client.get(path)
        assert response.status_code == 404
        assert f"Failed request. Reason: {BAD_TOKEN}" in response.get_data(as_text=True)
    advantage = factories.make_resource(course)
    assert client.get(f"/lti/v1/cartridge/{advantage.id}/None.xml").status_code == 404


def test_disabled_or_advantage_resources_have_no_cartridge(client, course):
    resource = factories.make_resource(course, legacy=True, enabled=False)
    response = client.get(f"/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml")
    assert response.status_code == 403
    assert (f"The resource &#39;{resource.id}&#39; is disabled. Please contact the administrator of this tool."
            in response.get_data(as_text=True))
    switched = factories.make_resource(course, legacy=True)
    switched.lti_version = "1.3"  # switched to LTI Advantage: the old token stays, legacy access does not
    db.session.commit()
    response = client.get(f"/lti/v1/cartridge/{switched.id}/{switched.legacy_token}.xml")
    assert response.status_code == 400
    assert "The resource is not set up for use over legacy LTI (versions 1.1/2.0)." in response.get_data(as_text=True)


def test_https_sites_add_the_secure_elements(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path, COURSEPORT_BASE_URL="https://tools.example")
    with app.app_context():
        resource = factories.make_resource(factories.make_course(), legacy=True)
        response = app.test_client().get(f"/lti/v1/cartridge/{resource.id}/{resource.legacy_token}.xml",
                                         base_url="https://tools.example")
        root = ElementTree.fromstring(response.data)
        assert root.findtext("blti:secure_launch_url", namespaces=NS) == \
            f"https://tools.example/lti/v1/launch/{resource.id}"
        assert root.findtext("blti:secure_icon", namespaces=NS) == "https://tools.example/static/favicon.ico"
        db.session.remove()
        db.engine.dispose()
