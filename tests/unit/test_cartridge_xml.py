"""The cartridge document parsed by an XML parser: namespaces, elements, escaping."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from app.lti.legacy.cartridge import CartridgeValues, cartridge_xml, plain_text

NS = {"cc": "http://www.imsglobal.org/xsd/imslticc_v1p0", "blti": "http://www.imsglobal.org/xsd/imsbasiclti_v1p0",
      "lticm": "http://www.imsglobal.org/xsd/imslticm_v1p0", "lticp": "http://www.imsglobal.org/xsd/imslticp_v1p0"}


def _values(base: str, title: str = "Biology <101> & more") -> CartridgeValues:
    return CartridgeValues(title=title, description='Cells "and" <tissues>', launch_url=f"{base}/lti/v1/launch/3",
                           icon_url=f"{base}/static/favicon.ico", vendor_code="courseport", vendor_name="Courseport",
                           vendor_description="Courses & activities", vendor_url=f"{base}/")


def test_https_cartridge_has_every_element_with_escaped_values():
    xml = cartridge_xml(_values("https://tools.example"))
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<cartridge_basiclti_link')
    root = ElementTree.fromstring(xml.encode())
    assert root.tag == f"{{{NS['cc']}}}cartridge_basiclti_link"
    assert root.findtext("blti:title", namespaces=NS) == "Biology <101> & more"
    assert root.findtext("blti:description", namespaces=NS) == 'Cells "and" <tissues>'
    assert root.findtext("blti:launch_url", namespaces=NS) == "https://tools.example/lti/v1/launch/3"
    assert root.findtext("blti:secure_launch_url", namespaces=NS) == "https://tools.example/lti/v1/launch/3"
    assert root.findtext("blti:icon", namespaces=NS) == "https://tools.example/static/favicon.ico"
    assert root.findtext("blti:secure_icon", namespaces=NS) == "https://tools.example/static/favicon.ico"
    extensions = root.find("blti:extensions", NS)
    assert extensions.get("platform") == "courseport"
    assert {p.get("name"): p.text for p in extensions.findall("lticm:property", NS)} == {
        "icon_url": "https://tools.example/static/favicon.ico",
        "secure_icon_url": "https://tools.example/static/favicon.ico"}
    vendor = root.find("blti:vendor", NS)
    assert [(child.tag.split("}")[1], child.text) for child in vendor] == [
        ("code", "courseport"), ("name", "Courseport"), ("description", "Courses & activities"),
        ("url", "https://tools.example/")]
    assert all(child.tag.startswith(f"{{{NS['lticp']}}}") for child in vendor)
    assert 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' in xml


def test_plain_http_cartridge_promises_nothing_secure():
    root = ElementTree.fromstring(cartridge_xml(_values("http://127.0.0.1:5000")).encode())
    assert root.find("blti:secure_launch_url", NS) is None
    assert root.find("blti:secure_icon", NS) is None
    names = [p.get("name") for p in root.find("blti:extensions", NS).findall("lticm:property", NS)]
    assert names == ["icon_url"]


def test_plain_text_drops_markup_and_scripts():
    assert plain_text("<p>Cells &amp; <b>tissues</b></p>\n<script>alert(1)</script><p>Week   1</p>") == \
        "Cells & tissues Week 1"
    assert plain_text(None) == ""
