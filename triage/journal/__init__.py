"""The journal write-back (VKP-shaped, issue 19): when an alert is resolved, a FHIR R4
transaction Bundle (DetectedIssue, the implicated Observations and QuestionnaireResponses, the
Composition note; conditional creates) goes into the journal outbox in the same transaction
(:mod:`triage.journal.writer`), and the journal sender (:mod:`triage.jobs.journal`, delivering
through :mod:`triage.journal.sender`) POSTs it to ``DHO_FHIR_JOURNAL_URL`` at least once.
The Bundle itself is built by the pure mapping, :func:`triage.fhir.bundles.journal_transaction`.
"""
