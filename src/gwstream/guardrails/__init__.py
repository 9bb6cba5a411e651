"""Guardrails: normalisation, PII detection and redaction, prompt-injection detection.

Pure functions over text (no Kafka, no pipeline): the pipeline's guardrail
stages and ``gwstream guardrails scan`` both use them.
"""
