"""Parsing untrusted XML uploads without XXE, entity expansion or runaway nesting.

Every uploaded BPMN file goes through :func:`parse_xml` before anything else (SpiffWorkflow's
parser included) sees it: documents with a DOCTYPE are refused outright, so external entities
(file or network), billion-laughs and quadratic-blowup payloads never reach an expanding parser.
"""

from __future__ import annotations

from lxml import etree

BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMN_DEFINITIONS = f"{{{BPMN_MODEL_NS}}}definitions"

#: Deeper element nesting is refused (real BPMN files stay well below 30).
MAX_DEPTH = 200

_DTD_MARKERS = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


class XmlRejected(ValueError):
    """The bytes are not acceptable XML. ``line``/``column`` are 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _new_parser() -> etree.XMLParser:
    # A parser per call: lxml parsers keep per-parse state and are not safe to share across threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=False)


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` safely and return the root element, or raise :class:`XmlRejected`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not data.strip():
        raise XmlRejected("The resource is empty")
    # Cheap byte scan first, so a hostile DTD is refused before libxml2 reads any of it.
    if any(marker in data for marker in _DTD_MARKERS):
        raise XmlRejected("XML documents with a DOCTYPE or ENTITY declaration are not accepted")
    try:
        root = etree.fromstring(data, _new_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno or 0, 0)
        message = exc.msg or str(exc)
        if "depth" in message.lower():
            raise XmlRejected(f"The XML is nested too deeply (more than {MAX_DEPTH} levels)",
                              line or 0, column or 0) from None
        raise XmlRejected(f"The resource is not well-formed XML: {message}", line or 0, column or 0) from None
    except (ValueError, etree.LxmlError) as exc:
        raise XmlRejected(f"The resource is not well-formed XML: {exc}") from None
    if root is None:
        raise XmlRejected("The resource is not well-formed XML: no root element")
    # A DTD could still arrive in an encoding the byte scan does not know (e.g. UTF-7).
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRejected("XML documents with a DOCTYPE or ENTITY declaration are not accepted")
    _check_depth(root)
    return root


def _check_depth(root: etree._Element) -> None:
    # Iterative walk: recursion would itself be a problem on hostile input.
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise XmlRejected(f"The XML is nested too deeply (more than {MAX_DEPTH} levels)",
                              element.sourceline or 0)
        for child in element:
            if isinstance(child, etree._Entity):
                raise XmlRejected("XML entity references are not accepted", child.sourceline or 0)
            stack.append((child, depth + 1))


def parse_bpmn_xml(data: bytes) -> etree._Element:
    """Parse ``data`` safely and check that the root is a BPMN 2.0 ``definitions`` element."""
    root = parse_xml(data)
    if root.tag != BPMN_DEFINITIONS:
        tag = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        ns = etree.QName(root).namespace if isinstance(root.tag, str) else None
        found = f"<{tag}>" + (f" in namespace {ns}" if ns else " without a namespace")
        raise XmlRejected(f"The resource is not BPMN 2.0: the root element is {found}, expected "
                          f"<definitions> in namespace {BPMN_MODEL_NS}", root.sourceline or 0)
    return root


def has_bpmn_root(data: bytes) -> bool:
    """True if ``data`` is (safe, well-formed) XML whose root is BPMN ``definitions``."""
    try:
        parse_bpmn_xml(data)
    except XmlRejected:
        return False
    return True
