"""The Canvas developer key configuration served by URL, checked against the rules of Canvas's published
LTI 1.3 tool configuration schema (required members, placements, message types per placement, privacy levels)."""
from __future__ import annotations

import copy

import jsonschema
import pytest

from app.services.platforms import registrations as platforms
from tests.factories import make_registration

BASE = "http://127.0.0.1:5000"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
PLACEMENTS = ["account_navigation", "assignment_edit", "assignment_group_menu", "assignment_index_menu",
              "assignment_menu", "assignment_selection", "assignment_view", "collaboration", "conference_selection",
              "course_assignments_menu", "course_home_sub_navigation", "course_navigation",
              "course_settings_sub_navigation", "discussion_topic_index_menu", "discussion_topic_menu",
              "editor_button", "file_index_menu", "file_menu", "global_navigation", "homework_submission",
              "link_selection", "migration_selection", "module_group_menu", "module_index_menu",
              "module_index_menu_modal", "module_menu", "module_menu_modal", "post_grades", "quiz_index_menu",
              "quiz_menu", "resource_selection", "similarity_detection", "student_context_card",
              "submission_type_selection", "tool_configuration", "top_navigation", "user_navigation",
              "wiki_index_menu", "wiki_page_menu"]
BOTH = ["LtiDeepLinkingRequest", "LtiResourceLinkRequest"]
URL = {"type": "string", "pattern": "^https?://[^/?#]+"}


def _only(placements: list[str], message_types: list[str]) -> dict:
    return {"if": {"properties": {"placement": {"enum": placements}}, "required": ["placement"]},
            "then": {"properties": {"message_type": {"enum": message_types}}}}


PLACEMENT = {
    "type": "object",
    "required": ["placement"],
    "properties": {
        "placement": {"enum": PLACEMENTS},
        "message_type": {"enum": BOTH},
        "target_link_uri": URL,
        "text": {"type": "string"},
        "icon_url": {"type": "string"},
        "default": {"enum": ["enabled", "disabled"]},
    },
    # Which message Canvas can send from each placement this tool uses.
    "allOf": [_only(["course_navigation"], ["LtiResourceLinkRequest"]),
              _only(["link_selection", "assignment_selection"], BOTH)],
}
CANVAS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["title", "description", "target_link_uri", "oidc_initiation_url", "public_jwk_url"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "target_link_uri": URL,
        "oidc_initiation_url": URL,
        "public_jwk_url": URL,
        "scopes": {"type": "array", "items": {"type": "string"}},
        "custom_fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "extensions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["platform", "settings"],
                "properties": {
                    "platform": {"const": "canvas.instructure.com"},
                    "domain": {"type": "string"},
                    "tool_id": {"type": "string"},
                    "privacy_level": {"enum": ["public", "email_only", "name_only", "anonymous"]},
                    "settings": {
                        "type": "object",
                        "required": ["placements"],
                        "properties": {"text": {"type": "string"}, "icon_url": {"type": "string"},
                                       "placements": {"type": "array", "items": PLACEMENT}},
                    },
                },
            },
        },
    },
}


def draft(name: str = "Draft LMS"):
    """A new registration not yet completed: the admin creates the Canvas key before knowing its client ID."""
    registration = platforms.create_registration(name)
    platforms.db.session.commit()
    return registration


def canvas_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(CANVAS_SCHEMA)
    return [error.message for error in validator.iter_errors(document)]


def test_the_schema_catches_what_canvas_refuses():
    """The schema is strict enough to fail: each broken copy of a valid document is refused."""
    valid = {"title": "T", "description": "D", "target_link_uri": "https://t.example/launch",
             "oidc_initiation_url": "https://t.example/login", "public_jwk_url": "https://t.example/jwks",
             "extensions": [{"platform": "canvas.instructure.com", "privacy_level": "public", "settings": {
                 "placements": [{"placement": "course_navigation", "message_type": "LtiResourceLinkRequest"}]}}]}
    assert canvas_errors(valid) == []
    breakages = [
        lambda doc: doc.pop("public_jwk_url"),
        lambda doc: doc.update(oidc_initiation_url="/lti/login"),
        lambda doc: doc["extensions"][0].pop("settings"),
        lambda doc: doc["extensions"][0]["settings"].pop("placements"),
        lambda doc: doc["extensions"][0].update(privacy_level="everything"),
        lambda doc: doc["extensions"][0]["settings"]["placements"][0].update(placement="course_nav"),
        lambda doc: doc["extensions"][0]["settings"]["placements"][0].update(message_type="LtiDeepLinkingRequest"),
        lambda doc: doc["extensions"][0]["settings"]["placements"][0].update(message_type="ContentItemSelection"),
    ]
    for breakage in breakages:
        broken = copy.deepcopy(valid)
        breakage(broken)
        assert canvas_errors(broken), broken


def test_json_configuration_passes_canvas_schema(client, db):
    registration = draft("Canvas Cloud")
    response = client.get(f"/lti/canvas/{registration.login_id}.json")  # public: Canvas fetches it, no login

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert canvas_errors(document) == []
    assert document["title"] == "Courseport"
    assert document["description"] == "Courses and activities published by Courseport"
    assert document["oidc_initiation_url"] == f"{BASE}/lti/login?id={registration.login_id}"
    assert document["target_link_uri"] == f"{BASE}/lti/launch"
    assert document["public_jwk_url"] == f"{BASE}/lti/jwks"
    assert document["scopes"] == SCOPES
    [extension] = document["extensions"]
    assert (extension["platform"], extension["privacy_level"], extension["domain"]) == (
        "canvas.instructure.com", "public", "127.0.0.1:5000")
    placements = {item["placement"]: (item["message_type"], item["target_link_uri"])
                  for item in extension["settings"]["placements"]}
    assert placements == {"link_selection": ("LtiDeepLinkingRequest", f"{BASE}/lti/deeplink"),
                          "assignment_selection": ("LtiDeepLinkingRequest", f"{BASE}/lti/deeplink"),
                          "course_navigation": ("LtiResourceLinkRequest", f"{BASE}/lti/launch")}


def test_each_registration_has_its_own_configuration(client, db):
    first, second = make_registration("School A"), make_registration("School B")
    db.session.commit()
    for registration in (first, second):
        document = client.get(f"/lti/canvas/{registration.login_id}.json").get_json()
        assert document["oidc_initiation_url"] == f"{BASE}/lti/login?id={registration.login_id}"


@pytest.mark.parametrize("login_id", ["1", "0" * 60, "not-hex", "a" * 61])
def test_unknown_or_guessed_ids_are_not_found(client, db, login_id):
    registration = draft()
    response = client.get(f"/lti/canvas/{login_id}.json")
    assert response.status_code == 404
    assert response.get_json() == {"error": "No registration has this configuration URL. Copy it again from the "
                                            "registration's Tool details tab."}
    assert registration.login_id not in response.get_data(as_text=True)
