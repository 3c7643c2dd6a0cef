"""Property: whatever an id in a URL holds (huge, negative, not a number), every route answers below 500."""
from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import login

_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
ids = st.one_of(st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
                st.sampled_from([str(2 ** 63 - 1), str(2 ** 63), "0", "00001", "1e5", "١٢", "+1", ""]),
                st.text(max_size=12))


def _rules(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "<int:" in rule.rule and {"GET", "POST"} & set(rule.methods or ())})


@settings(max_examples=120, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_id_in_a_url_gives_a_server_error(app, client, admin, data):
    if not getattr(client, "signed_in", False):
        login(client, "admin")
        client.signed_in = True
    rule = data.draw(st.sampled_from(_rules(app)))
    path = _ARGUMENT.sub(lambda match: quote(data.draw(ids) if match.group(1) == "int" else data.draw(
        st.text(min_size=1, max_size=12)), safe=""), rule)
    for method in ("GET", "POST"):
        response = client.open(path, method=method)
        assert response.status_code < 500, (method, path)
