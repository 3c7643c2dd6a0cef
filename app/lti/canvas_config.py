"""What Canvas needs to set Courseport up: the JSON configuration a Canvas admin loads by URL ("Enter URL")
when creating an LTI 1.3 developer key, and the Canvas placements dynamic registration asks for.

Canvas shows a tool only where it has a placement. Content selection (link and assignment selection) creates
links that carry the resource's custom `id`; course navigation can only send a resource link launch, which
Courseport resolves to the course already linked in that Canvas course.
"""
from __future__ import annotations

from typing import Any

from app.lti.launch_data import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST

PLATFORM = "canvas.instructure.com"
PRODUCT_FAMILY = "canvas"
# Courseport creates accounts with the user's name and email, so it asks Canvas to send both.
PRIVACY_LEVEL = "public"
PRIVACY_LEVEL_CLAIM = "https://canvas.instructure.com/lti/privacy_level"
PLACEMENT_PREFIX = "https://canvas.instructure.com/lti/"
DEEP_LINKING_PLACEMENTS = ("link_selection", "assignment_selection")
LAUNCH_PLACEMENTS = ("course_navigation",)
# Installed at account level, a course navigation entry would appear in every course: teachers turn it on
# (Settings > Navigation) in the courses that have a Courseport course.
COURSE_NAVIGATION_DEFAULT = PLACEMENT_PREFIX + "course_navigation/default_enabled"


def json_configuration(*, title: str, description: str, tool_url: str, initiate_login_url: str, jwks_url: str,
                       deep_linking_url: str, domain: str, icon_url: str, scopes: list[str]) -> dict[str, Any]:
    """Canvas's LTI 1.3 tool configuration JSON (the developer key's "Paste JSON" / "Enter URL")."""
    placements = [{"placement": name, "message_type": DEEP_LINKING_REQUEST, "target_link_uri": deep_linking_url,
                   "text": f"Add content from {title}", "icon_url": icon_url}
                  for name in DEEP_LINKING_PLACEMENTS]
    placements += [{"placement": name, "message_type": RESOURCE_LINK_REQUEST, "target_link_uri": tool_url,
                    "text": title, "icon_url": icon_url, "default": "disabled"}
                   for name in LAUNCH_PLACEMENTS]
    return {
        "title": title, "description": description, "oidc_initiation_url": initiate_login_url,
        "target_link_uri": tool_url, "public_jwk_url": jwks_url, "scopes": scopes,
        "extensions": [{"platform": PLATFORM, "domain": domain, "privacy_level": PRIVACY_LEVEL,
                        "settings": {"text": title, "icon_url": icon_url, "placements": placements}}],
        "custom_fields": {},
    }


def registration_messages(*, site_name: str, tool_url: str, deep_linking_url: str,
                          deep_linking: bool) -> list[dict[str, Any]]:
    """The dynamic registration `messages` for Canvas: its own placements instead of the generic ones."""
    navigation = {"type": RESOURCE_LINK_REQUEST, "target_link_uri": tool_url, "label": site_name,
                  "placements": [PLACEMENT_PREFIX + name for name in LAUNCH_PLACEMENTS],
                  COURSE_NAVIGATION_DEFAULT: False}
    if not deep_linking:
        return [navigation]
    selection = {"type": DEEP_LINKING_REQUEST, "target_link_uri": deep_linking_url,
                 "label": f"Add content from {site_name}",
                 "placements": [PLACEMENT_PREFIX + name for name in DEEP_LINKING_PLACEMENTS]}
    return [selection, navigation]
