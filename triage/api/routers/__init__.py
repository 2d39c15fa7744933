"""One router per subject; ``triage.api.app`` mounts them under ``/api/v1``."""
