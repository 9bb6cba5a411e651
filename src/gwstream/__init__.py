"""gwstream: a Kafka stream processor between conversations and LLM gateways."""

from __future__ import annotations

__version__ = "0.1.0"
