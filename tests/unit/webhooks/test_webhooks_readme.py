"""The README's Webhooks section: its configuration loads, its verification snippet works."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gwstream.config import load_settings
from gwstream.webhooks.signing import signature_header

README = Path(__file__).resolve().parents[3] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("\n## Webhooks\n")
    return text[start : text.index("\n## ", start + 1)]


def block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", section(), re.S)
    assert found, f"no {language} block in the README's Webhooks section"
    return found.group(1)


def readme_verifier() -> Callable[..., bool]:
    namespace: dict[str, Any] = {}
    exec(compile(block("python"), "README.md", "exec"), namespace)
    verifier: Callable[..., bool] = namespace["verify_gwstream_signature"]
    return verifier


def test_the_configuration_example_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GWSTREAM_CONFIG", raising=False)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(block("yaml"))
    settings = load_settings(cfg)
    hook = settings.tenants["acme"].webhook
    assert hook is not None and hook.secret_env == "ACME_WEBHOOK_SECRET"
    assert settings.webhooks.group_id == "gwstream-webhooks"


def test_the_verification_snippet_accepts_what_gwstream_signs() -> None:
    verify = readme_verifier()
    secret, body = b"whsec-readme", b'{"id":"e-1"}'
    now = int(time.time())
    assert verify(secret, signature_header(secret, now, body), body)
    assert verify(secret, f"t={now},v1=00,v1=" + signature_header(secret, now, body)[-64:], body)


def test_the_verification_snippet_refuses_forgeries_and_old_requests() -> None:
    verify = readme_verifier()
    secret, body = b"whsec-readme", b'{"id":"e-1"}'
    now = int(time.time())
    assert not verify(secret, signature_header(secret, now, body), body + b" ")
    assert not verify(b"other", signature_header(secret, now, body), body)
    assert not verify(secret, signature_header(secret, now - 301, body), body)
    for header in ["", "garbage", f"t={now}", "v1=ab", "t=x,v1=ab", f"t={now},v1=é"]:
        assert not verify(secret, header, body)
