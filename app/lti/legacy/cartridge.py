"""The IMS basic LTI link cartridge: what an LMS reads to configure a legacy resource by URL."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

import nh3

CONTENT_TYPE = "text/xml; charset=utf-8"
# Scripts and styles are not prose: drop their text along with the tags.
_DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "object", "noscript"}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CartridgeValues:
    title: str
    description: str
    launch_url: str
    icon_url: str
    vendor_code: str
    vendor_name: str
    vendor_description: str
    vendor_url: str

    @property
    def secure(self) -> bool:
        """secure_* elements promise HTTPS, so they appear only when the site is served over HTTPS."""
        return self.launch_url.startswith("https://")


def plain_text(rich_html: str | None) -> str:
    """Rich text as the single line of plain text an LMS shows as a tool description."""
    if not rich_html:
        return ""
    text = nh3.clean(rich_html, tags=set(), clean_content_tags=_DROP_WITH_CONTENT, strip_comments=True)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def cartridge_xml(values: CartridgeValues) -> str:
    """The cartridge document, every value XML-escaped."""
    e = {name: escape(getattr(values, name)) for name in (
        "title", "description", "launch_url", "icon_url", "vendor_code", "vendor_name", "vendor_description",
        "vendor_url")}
    secure_icon = (f'\n    <lticm:property name="secure_icon_url">{e["icon_url"]}</lticm:property>'
                   if values.secure else "")
    secure_launch = (f'\n  <blti:secure_launch_url>{e["launch_url"]}</blti:secure_launch_url>'
                     if values.secure else "")
    secure_icon_element = f'<blti:secure_icon>{e["icon_url"]}</blti:secure_icon>' if values.secure else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<cartridge_basiclti_link xmlns="http://www.imsglobal.org/xsd/imslticc_v1p0"
    xmlns:blti="http://www.imsglobal.org/xsd/imsbasiclti_v1p0" xmlns:lticm="http://www.imsglobal.org/xsd/imslticm_v1p0"
    xmlns:lticp="http://www.imsglobal.org/xsd/imslticp_v1p0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <blti:title>{e["title"]}</blti:title>
  <blti:description>{e["description"]}</blti:description>
  <blti:extensions platform="courseport">
    <lticm:property name="icon_url">{e["icon_url"]}</lticm:property>{secure_icon}
  </blti:extensions>
  <blti:launch_url>{e["launch_url"]}</blti:launch_url>{secure_launch}
  <blti:icon>{e["icon_url"]}</blti:icon>{secure_icon_element}
  <blti:vendor><lticp:code>{e["vendor_code"]}</lticp:code><lticp:name>{e["vendor_name"]}</lticp:name>
    <lticp:description>{e["vendor_description"]}</lticp:description><lticp:url>{e["vendor_url"]}</lticp:url></blti:vendor>
</cartridge_basiclti_link>
"""
