"""The rich-text allowlist: what teachers may write survives, anything executable never does."""
import pytest

from app.services.courses.richtext import sanitise


@pytest.mark.parametrize("html", [
    "<h2>Title</h2>",
    "<p>Some <strong>bold</strong>, <em>italic</em> and <u>underlined</u> text</p>",
    "<ol><li>one</li></ol><ul><li>two</li></ul>",
    '<img src="https://example.org/a.png" alt="A picture">',
    '<table><thead><tr><th scope="col">A</th></tr></thead><tbody><tr><td colspan="2">1</td></tr></tbody></table>',
    "<blockquote>quoted</blockquote><pre><code>x = 1</code></pre>",
])
def test_allowed_markup_is_kept(html):
    assert sanitise(html) == html


def test_links_get_noopener_and_keep_their_target():
    assert sanitise('<a href="https://example.org/x" target="_blank">x</a>') == \
        '<a href="https://example.org/x" rel="noopener">x</a>'


@pytest.mark.parametrize("html, forbidden", [
    ("<p>hi</p><script>alert(1)</script>", "alert"),
    ("<style>p { display: none }</style><p>hi</p>", "display"),
    ('<p onclick="steal()">hi</p>', "onclick"),
    ('<img src="x.png" onerror="steal()">', "onerror"),
    ('<a href="javascript:steal()">x</a>', "javascript"),
    ('<a href="JaVaScRiPt:steal()">x</a>', "steal"),
    ('<a href="java&#x09;script:steal()">x</a>', "steal"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "data:"),
    ('<p style="background:url(x)">hi</p>', "style"),
    ('<iframe src="https://evil.example"></iframe>', "iframe"),
    ("<svg><script>steal()</script></svg>", "steal"),
    ('<form action="https://evil.example"><input name="password"></form>', "form"),
    ("<!-- <script>steal()</script> -->", "steal"),
])
def test_executable_markup_is_removed(html, forbidden):
    assert forbidden.lower() not in sanitise(html).lower()


def test_empty_values():
    assert sanitise(None) == "" and sanitise("") == "" and sanitise("   ") == ""
