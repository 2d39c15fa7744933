"""FHIR R4 out of DHO: the mapping from DHO's stored data to FHIR resources, pure (no I/O).

The REST API (triage/api/routers/fhir.py), the bulk export (``dho export fhir``) and the
journal write-back (triage/journal) all build their resources here; docs/fhir.md holds the
mapping table and its sources.
"""
