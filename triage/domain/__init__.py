"""The pure triage domain: no I/O and no clock reads. Values and ``now`` go in; decisions out."""
