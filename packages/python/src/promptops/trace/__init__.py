"""Tracing: events batched to ``POST /api/v1/ingest``, ``instrument_openai``, OpenTelemetry attributes."""
