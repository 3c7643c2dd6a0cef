"""Tool registration screens: list, register, tabs, edit, delete, deployments, guides."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app.models import (
    AccessToken, Activity, Deployment, Enrolment, Grade, LtiContext, LtiUser, LtiUserResourceLink, PlatformKeyset,
    PlatformRegistration, RegistrationToken, ResourceLink, RoleAssignment, SyncJob, User,
    published_resource_registration,
)
from app.models.base import utcnow
from app.services.platforms import registrations as platforms
from app.services.platforms.settings import save_lti_settings
from tests.factories import make_course, make_registration, make_resource, make_user
from tests.helpers import login, post_form

BASE = "http://127.0.0.1:5000"
DETAILS = {"name": "Moodle", "issuer": "https://moodle.example.org", "client_id": "abc123",
           "auth_request_url": "https://moodle.example.org/mod/lti/auth.php",
           "jwks_url": "https://moodle.example.org/mod/lti/certs.php",
           "access_token_url": "https://moodle.example.org/mod/lti/token.php", "token_audience": ""}


@pytest.fixture
def admin_client(client, admin):
    login(client, "admin")
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_errors(response) -> dict[str, str]:
    return dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]*)</p>', text(response)))


def draft(name: str = "Draft LMS") -> PlatformRegistration:
    registration = platforms.create_registration(name)
    platforms.db.session.commit()
    return registration


def count(db, model) -> int:
    return db.session.query(model).count()


# Access ---------------------------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/lti/registrations", "/admin/lti/registrations/new", "/admin/lti/registrations/{id}",
               "/admin/lti/registrations/{id}/edit", "/admin/lti/registrations/{id}/delete",
               "/admin/lti/registrations/{id}/deployments/new", "/admin/lti/registrations/{id}/guide/moodle",
               "/admin/lti/guides", "/admin/lti/keys"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_goes_to_login_and_non_admin_is_refused(client, db, path):
    registration = make_registration()
    path = path.format(id=registration.id)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    make_user("teacher")
    login(client, "teacher")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/lti/registrations/{id}/token", "/admin/lti/registrations/{id}/test",
                                  "/admin/lti/registrations/{id}/delete", "/admin/lti/registrations/new",
                                  "/admin/lti/registrations/{id}/edit", "/admin/lti/keys/rotate",
                                  "/admin/lti/registrations/{id}/deployments/{dep}/approve"])
def test_posts_without_csrf_are_refused(admin_client, db, path):
    registration = make_registration()
    deployment = platforms.note_unknown_deployment(registration, "held", None)
    db.session.commit()
    response = admin_client.post(path.format(id=registration.id, dep=deployment.id), data=dict(DETAILS))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, registration.id) is not None
    assert db.session.get(Deployment, deployment.id).status == "pending"


def test_unknown_and_foreign_ids_are_404(admin_client, db):
    first, second = make_registration("A", client_id="a"), make_registration("B", client_id="b")
    foreign = second.deployments[0]
    assert admin_client.get("/admin/lti/registrations/999").status_code == 404
    assert admin_client.get(f"/admin/lti/registrations/{first.id}/deployments/{foreign.id}/delete").status_code == 404
    response = post_form(admin_client, f"/admin/lti/registrations/{first.id}/deployments/{foreign.id}/approve",
                         token_from="/admin/lti/registrations")
    assert response.status_code == 404
    assert admin_client.get(f"/admin/lti/registrations/{first.id}/guide/moodle2").status_code == 404


# List -----------------------------------------------------------------------------------------------

def test_empty_list(admin_client):
    page = text(admin_client.get("/admin/lti/registrations"))
    assert "<h1>Registered platforms</h1>" in page
    assert ("The platforms listed below are registered for LTI 1.3 communication. For earlier versions, consumer "
            "registration is not required.") in page
    assert "No registered platforms" in page
    assert 'href="/admin/lti/registrations/new">Register a platform</a>' in page


def test_list_rows(admin_client, db):
    active = make_registration("Zeta LMS", issuer="https://zeta.example.org", client_id="z-1",
                               deployment_ids=("d1", "d2"))
    platforms.note_unknown_deployment(active, "held", "Biology 101")
    pending = draft("Alpha draft")
    db.session.commit()

    page = text(admin_client.get("/admin/lti/registrations"))

    assert page.index("Alpha draft") < page.index("Zeta LMS")
    assert "Platform ID (issuer): https://zeta.example.org<br>Client ID: z-1" in page
    assert "Platform ID (issuer): <br>Client ID: " in page
    tab = f"/admin/lti/registrations/{active.id}?tab=tooldeployments"
    assert f'<a href="{tab}" title="Manage deployments">2</a>' in page
    assert f'<a class="badge badge-warning" href="{tab}">1 pending approval</a>' in page
    assert '<span class="badge badge-success">Active</span>' in page
    assert '<span class="badge badge-info">Pending</span>' in page
    assert page.count("<td>Never</td>") == 2
    for label, target in (("View tool endpoints", "?tab=tooldetails"), ("View platform details", "?tab=platformdetails"),
                          ("Manage deployments", "?tab=tooldeployments")):
        assert f'href="/admin/lti/registrations/{pending.id}{target}" title="{label}" aria-label="{label}"><svg' in page
    assert f'href="/admin/lti/registrations/{pending.id}/delete" title="Delete" aria-label="Delete"><svg' in page


# Register a platform ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, message", [("", "Required"), ("   ", "Required"), ("x" * 256, "Maximum of 255 characters")])
def test_register_validation(admin_client, db, name, message):
    response = post_form(admin_client, "/admin/lti/registrations/new", {"name": name})
    assert response.status_code == 400
    assert field_errors(response) == {"name": message}
    assert count(db, PlatformRegistration) == 0


def test_register_form(admin_client):
    page = text(admin_client.get("/admin/lti/registrations/new"))
    assert "<h1>Register a platform</h1>" in page
    assert '<label for="name">Platform name</label>' in page
    assert "A short name describing the platform. This can be changed at any time." in page
    assert ">Continue</button>" in page and 'href="/admin/lti/registrations">Cancel</a>' in page


def test_register_creates_pending_draft_and_opens_tool_details(admin_client, db):
    save_lti_settings({"registration_url_lifetime_days": 3})
    db.session.commit()
    response = post_form(admin_client, "/admin/lti/registrations/new", {"name": "  Brightspace  "})

    registration = db.session.execute(db.select(PlatformRegistration)).scalar_one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/lti/registrations/{registration.id}?tab=tooldetails"
    assert (registration.name, registration.status, registration.issuer) == ("Brightspace", "pending", None)
    assert re.fullmatch(r"[0-9a-f]{60}", registration.login_id)
    token = db.session.execute(db.select(RegistrationToken)).scalar_one()
    assert len(token.token) >= 43 and token.token != registration.login_id  # 32 random bytes, URL-safe
    assert abs(token.expires_at - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)


def test_login_ids_differ(db):
    assert draft("One").login_id != draft("Two").login_id


# Registration view -----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, active", [("", "platformdetails"), ("?tab=nonsense", "platformdetails"),
                                           ("?tab=tooldetails", "tooldetails"),
                                           ("?tab=tooldeployments", "tooldeployments")])
def test_tabs_are_links_with_default(admin_client, db, query, active):
    registration = draft()
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}{query}"))
    assert "<h1>Edit registration</h1>" in page
    assert 'href="/admin/lti/registrations">Back</a>' in page
    for key, label in (("tooldetails", "Tool details"), ("platformdetails", "Platform details"),
                       ("tooldeployments", "Deployments")):
        current = ' class="active" aria-current="page"' if key == active else ""
        assert f'<a href="/admin/lti/registrations/{registration.id}?tab={key}" id="tab-{key}"{current}>{label}</a>' \
            in page
        hidden = "" if key == active else " hidden"
        assert f'<section id="{key}" class="tab-panel" aria-labelledby="tab-{key}"{hidden}>' in page


def test_tool_details_tab(admin_client, db):
    registration = draft()
    token = db.session.execute(db.select(RegistrationToken)).scalar_one()
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}?tab=tooldetails"))

    assert "<h2>Dynamic registration</h2>" in page
    assert ("If the platform supports dynamic registration, use the registration URL below. For further information "
            'on dynamic registration, see the documentation <a href="/admin/lti/guides">Publish as LTI tool</a>.') in page
    for label, value in (("Registration URL", f"{BASE}/lti/register?token={token.token}"),
                         ("Tool URL", f"{BASE}/lti/launch"),
                         ("Initiate login URL", f"{BASE}/lti/login?id={registration.login_id}"),
                         ("JWKS URL", f"{BASE}/lti/jwks"), ("Deep linking URL", f"{BASE}/lti/deeplink"),
                         ("Canvas JSON URL", f"{BASE}/lti/canvas/{registration.login_id}.json")):
        assert f'<th scope="row">{label}</th>' in page
        assert re.search(rf'readonly[^>]*>{re.escape(value)}</textarea>\s*<button[^>]*data-copy-label="{label}"'
                         rf'[^>]*aria-label="Copy {label}"', page)
    # The copy icon is an inline SVG (emoji fonts are often missing), hidden from assistive technology.
    assert page.count('title="Copy to clipboard"') == 6
    assert page.count('<svg class="icon-copy" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" '
                      'focusable="false"') == 6
    assert "&#x1F4CB;" not in page and "\U0001F4CB" not in page
    assert "Single use. Expires " in page
    assert ">Generate a new registration URL</button>" in page
    assert "<h2>Manual registration</h2>" in page
    assert ("The tool endpoints below are for manual LTI 1.3 setup only. For earlier versions (1.1/2.0), details for "
            "consumers can be found on the 'Published as LTI tools' page, accessible via course navigation.") in page
    assert '<th scope="col">Name</th><th scope="col">URL</th>' in page
    assert "Register both the Tool URL and the Deep linking URL as redirect URIs in the platform." in page
    assert "Setup guides:" in page
    for slug, name in (("moodle", "Moodle"), ("canvas", "Canvas"), ("brightspace", "Brightspace"),
                       ("blackboard", "Blackboard"), ("sakai", "Sakai"), ("schoology", "Schoology")):
        assert f'href="/admin/lti/registrations/{registration.id}/guide/{slug}">{name}</a>' in page


def test_expired_and_complete_registration_url_states(admin_client, db):
    registration = draft()
    token = db.session.execute(db.select(RegistrationToken)).scalar_one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}?tab=tooldetails"))
    assert "This registration URL has expired." in page
    assert token.token not in page
    assert ">Generate a new registration URL</button>" in page

    active = make_registration("Done")
    page = text(admin_client.get(f"/admin/lti/registrations/{active.id}?tab=tooldetails"))
    assert "This registration is complete. Dynamic registration is no longer available for it." in page
    assert "Generate a new registration URL" not in page and "/lti/register?token=" not in page


def test_generate_new_registration_url_replaces_the_old_one(admin_client, db):
    registration = draft()
    old = db.session.execute(db.select(RegistrationToken)).scalar_one().token
    login_id = registration.login_id
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/token",
                         token_from=f"/admin/lti/registrations/{registration.id}?tab=tooldetails")
    assert response.headers["Location"] == f"/admin/lti/registrations/{registration.id}?tab=tooldetails"
    db.session.expire_all()
    tokens = db.session.execute(db.select(RegistrationToken)).scalars().all()
    assert [t.token for t in tokens] != [old] and len(tokens) == 1
    assert db.session.get(PlatformRegistration, registration.id).login_id == login_id
    page = text(admin_client.get(response.headers["Location"]))
    assert "A new registration URL has been generated." in page
    assert tokens[0].token in page and old not in page


def test_platform_details_tab(admin_client, db):
    registration = draft("Sakai")
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}?tab=platformdetails"))
    assert ("Once the tool has been set up in the platform, details from the platform must be recorded here to "
            "complete the registration.") in page
    assert ("<li>For dynamic registrations, this information will have been set automatically and no further changes "
            "are required.</li>") in page
    assert "<li>For manual registrations, this information must be manually copied from the platform.</li>" in page
    assert '<tr><th scope="row">Platform name</th><td>Sakai</td></tr>' in page
    for label in ("Platform ID (issuer)", "Client ID", "Authentication request URL", "Public keyset URL",
                  "Access token URL", "Access token audience"):
        assert f'<tr><th scope="row">{label}</th><td>-</td></tr>' in page
    assert ">Edit platform details</a>" in page
    assert "Test connection" not in page
    active = make_registration("Live")
    assert ">Test connection</button>" in text(admin_client.get(f"/admin/lti/registrations/{active.id}"))


# Edit platform details --------------------------------------------------------------------------------

def test_edit_form_labels_and_help(admin_client, db):
    registration = draft("Canvas")
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}/edit"))
    assert "<h1>Edit registration</h1>" in page
    for field, label in (("name", "Platform name"), ("issuer", "Platform ID (issuer)"), ("client_id", "Client ID"),
                         ("auth_request_url", "Authentication request URL"), ("jwks_url", "Public keyset URL"),
                         ("access_token_url", "Access token URL"), ("token_audience", "Access token audience")):
        assert f'<label for="{field}">{label}</label>' in page
    assert 'value="Canvas"' in page
    for help_text in (
        "The URL identifying the third party learning platform. Will be provided by the platform.",
        "A string used to identify the tool registration on the platform. Will be provided by the platform.",
        "The URL to which OpenID Connect authentication requests will be sent by the tool. Will be provided by the "
        "platform.",
        "The public keyset or JWKS URL, used to get the platform's public key. Will be provided by the platform.",
        "The URL to which access token requests will be sent by the tool. Will be provided by the platform.",
        "The audience to use when requesting access tokens. Leave empty to use the Access token URL. Brightspace "
        "requires https://api.brightspace.com/auth/token.",
    ):
        assert help_text in page
    assert ">Save changes</button>" in page
    assert f'href="/admin/lti/registrations/{registration.id}?tab=platformdetails">Cancel</a>' in page


def test_edit_invalid_urls_and_required(admin_client, db):
    registration = draft()
    bad = {**DETAILS, "name": "", "client_id": " ", "issuer": "moodle.example.org", "auth_request_url": "ftp://x/y",
           "jwks_url": "https://", "access_token_url": "/token"}
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/edit", bad)
    assert response.status_code == 400
    invalid = "Invalid URL. Have you included http:// or https://?"
    assert field_errors(response) == {"name": "Required", "client_id": "Required", "issuer": invalid,
                                      "auth_request_url": invalid, "jwks_url": invalid, "access_token_url": invalid}
    assert 'value="moodle.example.org"' in text(response)  # the form keeps what was typed
    db.session.expire_all()
    stored = db.session.get(PlatformRegistration, registration.id)
    assert (stored.name, stored.issuer, stored.status) == ("Draft LMS", None, "pending")


def test_edit_duplicate_client_id(admin_client, db):
    make_registration("Existing", issuer=DETAILS["issuer"], client_id=DETAILS["client_id"])
    registration = draft()
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/edit", DETAILS)
    assert response.status_code == 400
    assert field_errors(response) == {
        "client_id": "Invalid client ID. This client ID is already registered for the platform ID provided."}
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, registration.id).issuer is None


def test_edit_saves_trimmed_values_activates_and_forgets_cached_keys_and_tokens(admin_client, db):
    registration = draft()
    db.session.add(PlatformKeyset(registration_id=registration.id, jwks={"keys": []}, fetched_at=utcnow(),
                                  expires_at=utcnow() + timedelta(hours=1)))
    db.session.add(AccessToken(registration_id=registration.id, scopes="s", token="t",
                               expires_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    padded = {key: f"  {value}  " for key, value in DETAILS.items()}
    padded["token_audience"] = " https://api.brightspace.com/auth/token "

    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/edit", padded)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/lti/registrations/{registration.id}?tab=platformdetails"
    db.session.expire_all()
    stored = db.session.get(PlatformRegistration, registration.id)
    assert (stored.issuer, stored.client_id, stored.jwks_url) == (
        DETAILS["issuer"], DETAILS["client_id"], DETAILS["jwks_url"])
    assert stored.token_audience == "https://api.brightspace.com/auth/token"
    assert stored.status == "active"
    assert count(db, PlatformKeyset) == 0 and count(db, AccessToken) == 0
    assert "Platform registration updated" in text(admin_client.get(response.headers["Location"]))
    assert '<span class="badge badge-success">Active</span>' in text(admin_client.get("/admin/lti/registrations"))


def test_same_issuer_different_client_ids_are_allowed(admin_client, db):
    make_registration("School A", issuer="https://canvas.instructure.com", client_id="10000000000001")
    registration = draft("School B")
    values = {**DETAILS, "issuer": "https://canvas.instructure.com", "client_id": "10000000000002"}
    assert post_form(admin_client, f"/admin/lti/registrations/{registration.id}/edit", values).status_code == 302


# Delete a registration --------------------------------------------------------------------------------

def launch_traces(db, deployment: Deployment, tag: str) -> dict[str, int]:
    """What launches through a deployment leave behind: context, link, LTI user, enrolment, grade, queued job."""
    course = make_course(f"C-{tag}")
    activity = Activity(course_id=course.id, type="assignment", name="Essay", max_grade=Decimal("10"))
    db.session.add(activity)
    db.session.flush()
    resource = make_resource(course)
    user = make_user(f"learner-{tag}")
    context = LtiContext(deployment_id=deployment.id, context_id=f"ctx-{tag}", title="Biology")
    db.session.add(context)
    db.session.flush()
    link = ResourceLink(deployment_id=deployment.id, resource_link_id=f"rl-{tag}", published_resource_id=resource.id,
                        lti_context_id=context.id)
    lti_user = LtiUser(user_id=user.id, published_resource_id=resource.id, deployment_id=deployment.id,
                       subject=f"sub-{tag}")
    enrolment = Enrolment(course_id=course.id, user_id=user.id, published_resource_id=resource.id)
    db.session.add_all([link, lti_user, enrolment])
    db.session.flush()
    db.session.add_all([
        LtiUserResourceLink(lti_user_id=lti_user.id, resource_link_id=link.id),
        RoleAssignment(enrolment_id=enrolment.id, user_id=user.id, course_id=course.id, role="student"),
        Grade(activity_id=activity.id, user_id=user.id, value=Decimal("7")),
        SyncJob(kind="grade_push", dedupe_key=f"grade:{link.id}:{user.id}",
                payload={"resource_link_id": link.id, "user_id": user.id}, published_resource_id=resource.id),
    ])
    db.session.execute(published_resource_registration.insert().values(
        published_resource_id=resource.id, registration_id=deployment.registration_id))
    db.session.commit()
    return {"user": user.id, "resource": resource.id, "course": course.id}


def test_delete_registration_confirmation(admin_client, db):
    registration = make_registration("Moodle <main>")
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}/delete"))
    assert "<h1>Delete platform registration</h1>" in page
    assert ("Are you sure you want to delete the registration for the platform 'Moodle <main>'? This will also remove "
            "all tool deployments stored against this registration.") in page
    assert "Moodle &lt;main&gt;" in admin_client.get(f"/admin/lti/registrations/{registration.id}/delete").get_data(
        as_text=True)
    assert ">Continue</button>" in page and 'href="/admin/lti/registrations">Cancel</a>' in page


def test_delete_registration_cascades_and_keeps_accounts(admin_client, db):
    doomed = make_registration("Doomed", client_id="doomed", deployment_ids=("d1",))
    kept = make_registration("Kept", client_id="kept", deployment_ids=("k1",))
    gone = launch_traces(db, doomed.deployments[0], "gone")
    stays = launch_traces(db, kept.deployments[0], "stays")
    platforms.note_unknown_deployment(doomed, "held", None)
    db.session.add(PlatformKeyset(registration_id=doomed.id, jwks={"keys": []}, fetched_at=utcnow(),
                                  expires_at=utcnow()))
    db.session.add(AccessToken(registration_id=doomed.id, scopes="s", token="t", expires_at=utcnow()))
    db.session.commit()

    doomed_id, kept_id = doomed.id, kept.id

    response = post_form(admin_client, f"/admin/lti/registrations/{doomed_id}/delete")

    assert response.headers["Location"] == "/admin/lti/registrations"
    assert "Platform registration deleted" in text(admin_client.get("/admin/lti/registrations"))
    db.session.expire_all()
    assert db.session.get(PlatformRegistration, doomed_id) is None
    assert [d.deployment_id for d in db.session.query(Deployment)] == ["k1"]
    for model in (LtiContext, ResourceLink, LtiUser, LtiUserResourceLink, SyncJob, RoleAssignment):
        assert count(db, model) == 1, model.__name__
    assert [e.user_id for e in db.session.query(Enrolment)] == [stays["user"]]
    assert count(db, PlatformKeyset) == 0 and count(db, AccessToken) == 0
    assert db.session.execute(db.select(published_resource_registration.c.registration_id)).scalars().all() == [kept_id]
    assert db.session.get(User, gone["user"]) is not None and count(db, Grade) == 2


# Deployments ---------------------------------------------------------------------------------

def test_deployments_tab_empty_and_listed(admin_client, db):
    registration = draft()
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}?tab=tooldeployments"))
    assert ("A deployment ID is generated by the platform when the tool is made available in a context. This may "
            "occur at the time of registration, or later, when the tool is made available to a specific course or "
            "category. The deployment ID must be entered here before launches from the tool deployment are "
            "permitted.") in page
    assert "No tool deployments found" in page
    assert ">Add a deployment</a>" in page
    assert "Pending approval" not in page

    active = make_registration("Live", deployment_ids=("dep-1",))
    page = text(admin_client.get(f"/admin/lti/registrations/{active.id}?tab=tooldeployments"))
    assert ('<th scope="col">Name</th><th scope="col">Deployment ID</th><th scope="col">Last launch</th>'
            '<th scope="col">Actions</th>') in page
    assert '<th scope="row">dep-1</th>' in page and "<code>dep-1</code>" in page
    assert f'href="/admin/lti/registrations/{active.id}/deployments/{active.deployments[0].id}/delete" title="Delete"' \
        in page


def test_add_deployment_form_and_validation(admin_client, db):
    registration = make_registration(deployment_ids=("dep-1",))
    path = f"/admin/lti/registrations/{registration.id}/deployments/new"
    page = text(admin_client.get(path))
    assert "<h1>Add a deployment</h1>" in page
    assert '<label for="name">Deployment name</label>' in page and '<label for="deployment_id">Deployment ID</label>' in page
    assert ("Each deployment of the tool (this site) in a platform will be assigned a Deployment ID that is unique to "
            "the registration. The Deployment ID must be registered with the tool (this site) before launches from "
            "the respective tool deployment are allowed.") in page
    assert f'href="/admin/lti/registrations/{registration.id}?tab=tooldeployments">Cancel</a>' in page

    for values, errors in (
        ({"name": "", "deployment_id": ""}, {"name": "Required", "deployment_id": "Required"}),
        ({"name": "x" * 256, "deployment_id": "y" * 256},
         {"name": "Maximum of 255 characters", "deployment_id": "Maximum of 255 characters"}),
        ({"name": "Again", "deployment_id": "dep-1"},
         {"deployment_id": "Invalid deployment ID. The deployment ID already exists for this app registration."}),
    ):
        response = post_form(admin_client, path, values)
        assert response.status_code == 400
        assert field_errors(response) == errors
    db.session.expire_all()
    assert count(db, Deployment) == 1


def test_add_deployment_ids_are_case_sensitive_and_per_registration(admin_client, db):
    first = make_registration("A", client_id="a", deployment_ids=("dep-1",))
    second = make_registration("B", client_id="b", deployment_ids=())
    for registration, deployment_id in ((first, "DEP-1"), (second, "dep-1")):
        response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/new",
                             {"name": "Course X", "deployment_id": f" {deployment_id} "})
        assert response.headers["Location"] == f"/admin/lti/registrations/{registration.id}?tab=tooldeployments"
    assert "Deployment added" in text(admin_client.get(f"/admin/lti/registrations/{second.id}?tab=tooldeployments"))
    db.session.expire_all()
    assert sorted((d.registration_id, d.deployment_id, d.name) for d in db.session.query(Deployment)) == [
        (first.id, "DEP-1", "Course X"), (first.id, "dep-1", "dep-1"), (second.id, "dep-1", "Course X")]


def test_adding_a_held_deployment_activates_it(admin_client, db):
    registration = make_registration(deployment_ids=())
    held = platforms.note_unknown_deployment(registration, "held-1", "Maths")
    db.session.commit()
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/new",
                         {"name": "Maths dept", "deployment_id": "held-1"})
    assert response.status_code == 302
    db.session.expire_all()
    deployment = db.session.get(Deployment, held.id)
    assert (deployment.name, deployment.status, deployment.attempts) == ("Maths dept", "active", 1)


def test_delete_deployment_confirmation_and_cascade(admin_client, db):
    registration = make_registration(deployment_ids=("dep-1", "dep-2"))
    doomed, kept = registration.deployments
    gone = launch_traces(db, doomed, "gone")
    launch_traces(db, kept, "stays")
    path = f"/admin/lti/registrations/{registration.id}/deployments/{doomed.id}/delete"
    page = text(admin_client.get(path))
    assert "<h1>Delete deployment</h1>" in page
    assert ("Warning: Deleting a deployment will result in a loss of access for any users following resource links "
            "tied to this tool deployment in the platform. Member and grade sync services will also be removed for "
            "these resources. Are you sure you want to delete deployment ID 'dep-1'?") in page

    response = post_form(admin_client, path)

    assert response.headers["Location"] == f"/admin/lti/registrations/{registration.id}?tab=tooldeployments"
    assert "Deployment deleted" in text(admin_client.get(response.headers["Location"]))
    db.session.expire_all()
    assert [d.deployment_id for d in db.session.query(Deployment)] == ["dep-2"]
    for model in (LtiContext, ResourceLink, LtiUser, LtiUserResourceLink, SyncJob, RoleAssignment, Enrolment):
        assert count(db, model) == 1, model.__name__
    assert db.session.get(User, gone["user"]) is not None and count(db, Grade) == 2


# Pending approval -------------------------------------------------------------------------------

def test_unknown_deployments_are_held_then_approved_or_ignored(admin_client, db):
    registration = make_registration(deployment_ids=())
    first = platforms.note_unknown_deployment(registration, "dep-A", "Biology <101>")
    platforms.note_unknown_deployment(registration, "dep-A", None)
    other = platforms.note_unknown_deployment(registration, "dep-B", None)
    db.session.commit()
    tab = f"/admin/lti/registrations/{registration.id}?tab=tooldeployments"

    page = text(admin_client.get(tab))
    assert "<h2>Pending approval</h2>" in page
    assert ("These deployment IDs were used in launches but have not been added. Launches from them are refused "
            "until you approve them.") in page
    assert ('<th scope="col">Deployment ID</th><th scope="col">First seen</th><th scope="col">Last seen</th>'
            '<th scope="col">Launch attempts</th><th scope="col">Platform course seen</th>') in page
    assert "<td>2</td>" in page and "<td>Biology <101></td>" in page
    assert "No tool deployments found" in page
    assert '<a class="badge badge-warning" href="' in text(admin_client.get("/admin/lti/registrations"))

    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/{first.id}/approve",
                         token_from=tab)
    assert response.headers["Location"] == tab
    assert "Deployment approved" in text(admin_client.get(tab))
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/{other.id}/ignore",
                         token_from=tab)
    page = text(admin_client.get(tab))
    assert "Deployment ignored" in page
    assert "<h2>Pending approval</h2>" not in page
    assert "<summary>Ignored (1)</summary>" in page
    db.session.expire_all()
    approved, ignored = db.session.get(Deployment, first.id), db.session.get(Deployment, other.id)
    assert (approved.status, approved.name) == ("active", "dep-A")
    assert ignored.status == "ignored"

    post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/{other.id}/approve",
              token_from=tab)
    db.session.expire_all()
    assert db.session.get(Deployment, other.id).status == "active"


def test_ignoring_an_active_deployment_is_refused(admin_client, db):
    registration = make_registration(deployment_ids=("dep-1",))
    deployment = registration.deployments[0]
    response = post_form(admin_client, f"/admin/lti/registrations/{registration.id}/deployments/{deployment.id}/ignore",
                         token_from="/admin/lti/registrations")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Deployment, deployment.id).status == "active"


# Setup guides ------------------------------------------------------------------------------------------

def test_guides_index(admin_client, db):
    assert "Register a platform first" in text(admin_client.get("/admin/lti/guides"))
    registration = draft("Campus Moodle")
    page = text(admin_client.get("/admin/lti/guides"))
    assert "<h1>Setup guides</h1>" in page
    for slug in ("moodle", "canvas", "brightspace", "blackboard", "sakai", "schoology"):
        assert f'href="/admin/lti/registrations/{registration.id}/guide/{slug}"' in page


@pytest.mark.parametrize("slug, name, phrase", [
    ("moodle", "Moodle", "Add LTI Advantage"), ("canvas", "Canvas", "Public JWK URL"),
    ("brightspace", "Brightspace", "OAuth2 Audience"), ("blackboard", "Blackboard", "Application ID"),
    ("sakai", "Sakai", "External Tools"), ("schoology", "Schoology", "per installation"),
])
def test_each_guide_shows_this_registrations_urls(admin_client, db, slug, name, phrase):
    registration = draft("Campus")
    token = db.session.execute(db.select(RegistrationToken)).scalar_one().token
    page = text(admin_client.get(f"/admin/lti/registrations/{registration.id}/guide/{slug}"))
    assert f"<h1>Setup guide: {name}</h1>" in page
    assert f"Menu names can differ between versions of {name}." in page
    assert phrase in page
    for label, value in (("Tool URL", f"{BASE}/lti/launch"), ("JWKS URL", f"{BASE}/lti/jwks"),
                         ("Initiate login URL", f"{BASE}/lti/login?id={registration.login_id}"),
                         ("Deep linking URL", f"{BASE}/lti/deeplink")):
        assert re.search(rf'readonly[^>]*>{re.escape(value)}</textarea>\s*<button[^>]*data-copy-label="{label}"'
                         rf'[^>]*aria-label="Copy {label}"', page)
    canvas_json_url = f"{BASE}/lti/canvas/{registration.login_id}.json"
    assert bool(re.search(rf'readonly[^>]*>{re.escape(canvas_json_url)}</textarea>\s*<button[^>]*'
                          r'data-copy-label="Canvas JSON URL"', page)) is (slug == "canvas")
    dynamic = slug in ("moodle", "canvas", "brightspace", "sakai")
    assert (f"{BASE}/lti/register?token={token}" in page) is dynamic
    assert f'href="/admin/lti/registrations/{registration.id}/edit">Edit platform details</a>' in page
