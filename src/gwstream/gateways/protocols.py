"""What each gateway protocol is: the one place its facts are written down.

The configuration validates against these facts (:mod:`gwstream.gateways.settings`),
the adapters take their class attributes from them, and the factory builds
credentials with them: the endpoint path, which answer forms exist (streamed,
buffered) and which is the default, the vendor, the OAuth scopes the call
needs, and where the vendor's token endpoint is and how it takes the client's
credentials. Pure data, so the configuration can import it without the
adapters and their HTTP clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "COGNIGY_TOKEN_PATH",
    "GENESYS_TOKEN_PATH",
    "PROTOCOLS",
    "CredentialsIn",
    "ProtocolFacts",
    "Vendor",
    "facts",
]

Vendor = Literal["openai", "cognigy", "genesys"]
CredentialsIn = Literal["form", "basic"]

#: Where each vendor's OAuth2 token endpoint lives, relative to the first base URL.
COGNIGY_TOKEN_PATH = "/api/v1/auth/token"
GENESYS_TOKEN_PATH = "/login/oauth2/token"


@dataclass(frozen=True, slots=True)
class ProtocolFacts:
    name: str
    vendor: Vendor
    #: The completion endpoint's path, after a base URL.
    path: str
    #: The answer forms the protocol has: True streamed, False buffered.
    stream_forms: tuple[bool, ...]
    stream_default: bool = False
    #: OAuth scopes the call needs (none: an API key, no OAuth).
    scopes: tuple[str, ...] = ()
    #: The vendor's token endpoint path, and how it takes the client's credentials.
    token_path: str | None = None
    credentials_in: CredentialsIn | None = None

    @property
    def oauth(self) -> bool:
        """Whether the protocol authenticates with OAuth2 client credentials."""
        return self.token_path is not None


_COGNIGY = {"vendor": "cognigy", "token_path": COGNIGY_TOKEN_PATH, "credentials_in": "form"}
_GENESYS = {"vendor": "genesys", "token_path": GENESYS_TOKEN_PATH, "credentials_in": "basic"}

PROTOCOLS: Mapping[str, ProtocolFacts] = MappingProxyType(
    {
        f.name: f
        for f in (
            ProtocolFacts("openai", "openai", "/v1/chat/completions", (False, True)),
            ProtocolFacts(
                "cognigy.chat",
                path="/api/v1/llm/gateway/chat",
                stream_forms=(False,),
                scopes=("llm.gateway:invoke",),
                **_COGNIGY,  # type: ignore[arg-type]
            ),
            ProtocolFacts(
                "cognigy.inference",
                path="/api/v1/llm/gateway/inference",
                stream_forms=(True,),
                scopes=("llm.gateway.inference",),
                **_COGNIGY,  # type: ignore[arg-type]
            ),
            ProtocolFacts(
                "genesys.invoke",
                path="/api/v2/ai/llm/gateway/invoke",
                stream_forms=(False, True),
                stream_default=True,
                scopes=("ai:llm:gateway:use", "ai:llm:gateway:stream"),
                **_GENESYS,  # type: ignore[arg-type]
            ),
            ProtocolFacts(
                "genesys.invocations",
                path="/api/v2/ai/llm/gateway/invocations",
                stream_forms=(False,),
                scopes=("ai:gateway:write",),
                **_GENESYS,  # type: ignore[arg-type]
            ),
        )
    }
)


def facts(protocol: str) -> ProtocolFacts:
    """The facts of ``protocol``; ValueError naming the known ones when there is none."""
    found = PROTOCOLS.get(protocol)
    if found is None:
        raise ValueError(
            f"unknown gateway protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}"
        )
    return found
