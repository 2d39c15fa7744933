"""Exports of DHO's stored data for analytics and migration (``dho export …``).

:mod:`triage.export.fhir_ndjson` writes FHIR R4 resources as NDJSON in the FHIR Bulk Data
format (``dho export fhir``); the resources come from the pure mapping in :mod:`triage.fhir`.
"""
