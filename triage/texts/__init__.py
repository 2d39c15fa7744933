"""Words shown to people, from one message catalogue per language (gettext .po, read with
Babel): the reasons of findings (:mod:`triage.texts.findings`), with numbers as the reader
writes them (:mod:`triage.texts.numbers`). Reads files, so it lives outside ``triage.domain``."""
