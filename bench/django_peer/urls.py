"""The peer's routes: django-lti's JWKS and login initiation views, a launch view and the landing page."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path
from lti_tool.views import LtiLaunchBaseView, OIDCLoginInitView, jwks

LANDING = engines["django"].from_string(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{ title }}</title></head><body>"
    "<h1>{{ title }}</h1><p>Welcome, {{ name }} ({{ roles|length }} roles).</p></body></html>")
RESOURCE_LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"


class LaunchView(LtiLaunchBaseView):
    def handle_resource_launch(self, request, lti_launch):
        return redirect("landing")


@login_required
def landing(request):
    """The page a launch lands on: the launch read back through the session, its user signed in."""
    if request.lti_launch.is_absent:
        return HttpResponse("No launch in this session.", status=400)
    data = request.lti_launch.get_launch_data()
    return HttpResponse(LANDING.render({
        "title": data.get(RESOURCE_LINK, {}).get("title", "Activity"), "name": data.get("name", ""),
        "roles": data.get(ROLES, [])}, request))


urlpatterns = [
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("init/<uuid:registration_uuid>/", OIDCLoginInitView.as_view(), name="init"),
    path("launch/", LaunchView.as_view(), name="launch"),
    path("landing/", landing, name="landing"),
    path("", lambda request: HttpResponse("django-lti peer")),
]
