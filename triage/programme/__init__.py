"""The programme view's figures (issue 18), computed from the service's own tables.

One module per part (reach, adoption, measurement adherence, plan fidelity, alert handling,
benefit, workload); each holds its :class:`~triage.domain.programme.Definition` s beside the
query that computes them, and :mod:`triage.programme.registry` puts them together by section.
Access (who sees which sections of which centres) is decided by
:func:`triage.domain.access.programme_scope`; the queries here only apply the scope they are
given.
"""
