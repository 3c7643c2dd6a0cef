"""Property: what a platform or consumer answers (Link headers, roster pages, LTI 2 tool consumer profiles,
LTI 1.1 membership XML) is either understood or refused with the parser's own error, never a crash."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.lti import ags_nrps
from app.lti.legacy import memberships, tool_proxy
from tests.properties import json_values

FAST = settings(max_examples=150, deadline=1000)

_link_parts = st.sampled_from(["<", ">", ";", ",", "=", '"', "rel", "next", " ", "https://lms.example/p?page=2",
                               "prev", "'", "\\", "url"])
link_headers = st.one_of(st.text(max_size=120), st.lists(_link_parts, max_size=20).map("".join))


@FAST
@given(link=link_headers)
def test_link_headers(link):
    found = ags_nrps.next_page_url({"Link": link})
    assert found is None or isinstance(found, str)


def _json_shaped_like_a_container():
    member = st.fixed_dictionaries({}, optional={"userId": json_values, "name": json_values, "email": json_values})
    membership = st.one_of(json_values, st.fixed_dictionaries(
        {}, optional={"member": st.one_of(member, json_values), "role": json_values, "status": json_values}))
    subject = st.one_of(json_values, st.fixed_dictionaries({}, optional={"membership": st.one_of(
        st.lists(membership, max_size=3), json_values)}))
    return st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "pageOf": st.one_of(json_values, st.fixed_dictionaries({}, optional={"membershipSubject": subject})),
        "nextPage": json_values}))


@FAST
@given(body=_json_shaped_like_a_container())
def test_lti2_membership_pages(body):
    try:
        members, next_page = memberships._lti2_page(body)
    except memberships.MembershipError:
        return
    assert next_page is None or isinstance(next_page, str)
    for member in members:
        assert isinstance(member["user_id"], str) and all(isinstance(role, str) for role in member["roles"])
        assert all(member[name] is None or isinstance(member[name], str)
                   for name in ("given_name", "family_name", "name", "email"))


_xml_parts = st.sampled_from(["<imsx_POXEnvelopeResponse>", "</imsx_POXEnvelopeResponse>", "<codemajor>",
                              "</codemajor>", "success", "failure", "<members>", "</members>", "<member>",
                              "</member>", "<user_id>", "</user_id>", "<roles>", "</roles>", "u1", "Learner,",
                              "&amp;", "<", ">", "<x:member xmlns:x='urn:x'>", "</x:member>"])


@FAST
@given(content=st.one_of(st.binary(max_size=200), st.lists(_xml_parts, max_size=25).map("".join).map(str.encode)))
def test_lti11_membership_xml(content):
    try:
        members = memberships.parse_lti11_members(content)
    except memberships.MembershipError:
        return
    assert all(isinstance(member["user_id"], str) and member["user_id"] for member in members)


def _profiles():
    service = st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "@id": json_values, "endpoint": json_values,
        "format": st.one_of(st.sampled_from([tool_proxy.TOOL_PROXY_TYPE, tool_proxy.MEMBERSHIPS_TYPE]),
                            st.lists(st.sampled_from([tool_proxy.TOOL_PROXY_TYPE, tool_proxy.MEMBERSHIPS_TYPE])),
                            json_values),
        "action": st.one_of(st.sampled_from(["POST", "GET"]), st.lists(st.sampled_from(["POST", "GET"])),
                            json_values)}))
    return st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "capability_offered": st.one_of(st.just([tool_proxy.LAUNCH_CAPABILITY]), json_values),
        "service_offered": st.one_of(st.lists(service, max_size=3), json_values),
        "product_instance": json_values, "guid": json_values}))


@FAST
@given(profile=_profiles(), member_sync=st.booleans(), context_id=st.text(max_size=20))
def test_lti2_tool_consumer_profiles(profile, member_sync, context_id):
    if not isinstance(profile, dict):
        return  # fetch_profile refuses anything but an object before these run
    try:
        services = tool_proxy.required_services(profile, member_sync)
    except tool_proxy.RegistrationError:
        services = {}
    for service in services.values():
        assert isinstance(service.endpoint, str) and service.endpoint
    name, version, guid = tool_proxy._consumer_details(profile)
    assert all(isinstance(value, str) for value in (name, version, guid))
    url = memberships.lti2_memberships_url(profile, context_id)
    assert url is None or isinstance(url, str)
