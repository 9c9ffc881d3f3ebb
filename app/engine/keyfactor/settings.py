"""Settings the Keyfactor step connectors read (SMTP server, HTTP timeout, CA connector).

Environment variables (all optional):

=====================  ==================  ====================================================
variable               default             meaning
=====================  ==================  ====================================================
BATON_SMTP_HOST        (unset)             SMTP server for ``Email`` steps; unset → Email fails
BATON_SMTP_PORT        25                  SMTP port
BATON_SMTP_USER        (unset)             SMTP login user (login only when set)
BATON_SMTP_PASSWORD    (unset)             SMTP login password
BATON_SMTP_FROM        baton@localhost     ``From`` address of sent mail
BATON_SMTP_STARTTLS    false               ``true``/``1``/``yes``: STARTTLS before login
BATON_HTTP_TIMEOUT     30                  seconds; network timeout of REST/OAuth/SMTP calls
BATON_CA_CONNECTOR     default             entry point name in group ``baton.ca_connectors``
=====================  ==================  ====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class KeyfactorSettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "baton@localhost"
    smtp_starttls: bool = False
    #: Seconds; the connect/read timeout of every network call a step makes.
    http_timeout: float = 30.0
    #: Name of the certificate-authority connector (entry point group ``baton.ca_connectors``).
    ca_connector: str = "default"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeyfactorSettings:
        """Read the ``BATON_*`` variables above; a malformed value raises ValueError naming it."""
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = env.get(name)
            return value.strip() or None if value is not None else None

        def number(name: str, default: float, kind: type) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
            if value <= 0:
                raise ValueError(f"{name}={raw!r} must be positive")
            return value

        starttls = (text("BATON_SMTP_STARTTLS") or "").lower()
        if starttls not in _TRUE | _FALSE:
            raise ValueError(f"BATON_SMTP_STARTTLS={starttls!r} is not a boolean (true/false)")
        return cls(
            smtp_host=text("BATON_SMTP_HOST"),
            smtp_port=int(number("BATON_SMTP_PORT", 25, int)),
            smtp_user=text("BATON_SMTP_USER"),
            # A password may legitimately start or end with blanks: keep it verbatim.
            smtp_password=env.get("BATON_SMTP_PASSWORD") or None,
            smtp_from=text("BATON_SMTP_FROM") or "baton@localhost",
            smtp_starttls=starttls in _TRUE,
            http_timeout=float(number("BATON_HTTP_TIMEOUT", 30.0, float)),
            ca_connector=text("BATON_CA_CONNECTOR") or "default",
        )
