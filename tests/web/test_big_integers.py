"""Numbers no database column can hold (beyond 2^63 − 1), in URLs, query strings and commands: a 404 or a clean
usage error, never a 500 or a traceback."""
from __future__ import annotations

import pytest

from tests.helpers import login

HUGE = str(2 ** 63)
HUGER = "9" * 40


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_public_routes_answer_404(app, client, number):
    assert client.post(f"/lti/v1/launch/{number}", data={"oauth_consumer_key": "k"}).status_code == 404
    assert client.get(f"/lti/v1/cartridge/{number}/token.xml").status_code == 404
    assert client.post(f"/lti/v2/register/{number}/token", data={}).status_code == 404
    assert client.get(f"/activity/{number}").status_code in (302, 404)


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_admin_query_parameters_fall_back_to_their_default(app, client, admin, number):
    login(client, "admin")
    for path in (f"/admin/lti/launches?registration={number}&page={number}", f"/admin/lti/published?course={number}",
                 f"/admin/lti/jobs?page={number}", f"/admin/users?page={number}",
                 f"/admin/lti/launches?page={2 ** 62}"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert client.get(f"/admin/users/{number}/edit").status_code == 404


def test_the_cli_refuses_a_huge_id_cleanly(app, runner):
    for args in (["lti", "registrations", "show", HUGE], ["lti", "sync", "grades", "--resource", HUGER],
                 ["lti", "launches", "list", "--limit", HUGE]):
        result = runner.invoke(args=args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert "Traceback" not in result.output and not isinstance(result.exception, (OverflowError, TypeError))
