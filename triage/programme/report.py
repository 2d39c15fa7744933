"""The printable monthly report a centre lead sends to the municipality's leadership: every
section the reader may see, each figure with its definition and source, every table; one HTML
page laid out for A4 (``@media print``), rendered on the server.

Jinja2 with autoescape: every name, label and definition is escaped, so a municipality called
``<script>`` is printed as text. Numbers are written the reader's way through Babel (bokmål: a
decimal comma, "93 %").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date
from jinja2 import Environment, select_autoescape

from triage.domain.colours import Text
from triage.programme.view import SectionView, ratio_text
from triage.texts.catalogue import Language
from triage.texts.numbers import LOCALES

_WORDS: dict[str, Text] = {
    "title": Text(
        nb="Digital hjemmeoppfølging: månedsrapport", en="Digital home follow-up: monthly report"
    ),
    "centres": Text(nb="Oppfølgingstjeneste", en="Follow-up centre"),
    "municipalities": Text(nb="Kommuner", en="Municipalities"),
    "condition": Text(nb="Diagnose", en="Condition"),
    "made": Text(nb="Laget", en="Made"),
    "by": Text(nb="av", en="by"),
    "source": Text(nb="Kilde", en="Source"),
    "empty_section": Text(
        nb="Ingen tall i denne delen for utvalget.",
        en="No figures in this section for the selection.",
    ),
    "empty_table": Text(nb="Ingen rader i perioden.", en="No rows in the period."),
    "print_hint": Text(
        nb="Skriv ut med Ctrl+P (A4, stående). Denne linjen kommer ikke med på utskriften.",
        en="Print with Ctrl+P (A4, portrait). This line is not printed.",
    ),
    "footer": Text(
        nb="Tallene er regnet ut av DHO fra tjenestens egne data. Dagstallene (målinger per "
        "pasient og dag) regnes ut hver time for dagene som er over: en dag er med fra like "
        "etter midnatt og regnes om dagen etter for målinger som kom sent. En andel "
        "vises med teller og nevner («12 av 13»); «–» betyr at tallet ikke kan regnes ut, med "
        "grunnen ved siden av.",
        en="The figures are computed by DHO from the service's own data. The daily aggregates "
        "(measurements per patient and day) are computed every hour for the days that have "
        "ended: a day is included from just after midnight and recomputed the day after for "
        "late measurements. A share is shown with its numerator and denominator "
        '("12 of 13"); "–" means the figure cannot be computed, with the reason beside it.',
    ),
}

_TEMPLATE = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ words.title }} – {{ month }}</title>
<style>
@page { size: A4 portrait; margin: 16mm 14mm 18mm 14mm; }
* { box-sizing: border-box; }
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; font-size: 10.5pt;
  line-height: 1.4; color: #111; max-width: 182mm; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 17pt; margin: 0 0 .2rem; }
h2 { font-size: 14pt; margin: 1.4rem 0 .2rem; padding-bottom: .15rem;
  border-bottom: 2px solid #1f4e79; color: #1f4e79; }
h3 { font-size: 11pt; margin: .9rem 0 .15rem; }
.meta { margin: .2rem 0 .8rem; color: #333; }
.meta dt { font-weight: bold; display: inline; }
.meta dd { display: inline; margin: 0 1rem 0 .2rem; }
.question { font-style: italic; color: #333; margin: .1rem 0 .5rem; }
.figure, .table { break-inside: avoid; page-break-inside: avoid; }
.value { font-size: 13pt; font-weight: bold; }
.ratio { color: #333; }
.missing { color: #8a4b00; }
.definition, .source { font-size: 9pt; color: #333; margin: .1rem 0; }
table { border-collapse: collapse; width: 100%; margin: .2rem 0; font-size: 9.5pt; }
th, td { border-bottom: 1px solid #bbb; padding: .15rem .35rem; text-align: left;
  vertical-align: top; }
th { background: #eef3f8; }
table.keyed { width: auto; min-width: 50%; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.hint { background: #fff7d6; border: 1px solid #e0c36a; padding: .4rem .6rem; }
footer { margin-top: 1.5rem; font-size: 8.5pt; color: #444; border-top: 1px solid #bbb;
  padding-top: .3rem; }
@media print {
  body { margin: 0; padding: 0; max-width: none; }
  .hint { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  th { background: #eef3f8 !important; -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<p class="hint">{{ words.print_hint }}</p>
<h1>{{ words.title }}: {{ month }}</h1>
<dl class="meta">
<dt>{{ words.centres }}:</dt><dd>{{ centres }}</dd>
<dt>{{ words.municipalities }}:</dt><dd>{{ municipalities }}</dd>
<dt>{{ words.condition }}:</dt><dd>{{ condition }}</dd><br>
<dt>{{ period_word }}:</dt><dd>{{ period }}</dd>
<dt>{{ words.made }}:</dt><dd>{{ made }} {{ words.by }} {{ made_by }}</dd>
</dl>
{% for section in sections %}
<section id="{{ section.section.value }}">
<h2>{{ section.title }}</h2>
<p class="question">{{ section.question }}</p>
{% if not section.figures and not section.tables %}<p>{{ words.empty_section }}</p>{% endif %}
{% for figure in section.figures %}
<div class="figure">
<h3>{{ figure.title }}</h3>
{% if figure.values|length == 1 and figure.values[0].key is none %}
{% set v = figure.values[0] %}
<p><span class="value">{{ v.text }}</span>
{% if ratio(v) %} <span class="ratio">({{ ratio(v) }})</span>{% endif %}
{% if v.missing %} <span class="missing">{{ v.missing }}</span>{% endif %}</p>
{% else %}
<table class="keyed">
<tbody>
{% for v in figure.values %}
<tr><th scope="row">{{ v.key_label or v.key or "" }}</th><td class="num">{{ v.text }}</td>
<td class="ratio">{{ ratio(v) or "" }}
{%- if v.missing %} <span class="missing">{{ v.missing }}</span>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
<p class="definition">{{ figure.definition }}</p>
<p class="source">{{ words.source }}: {{ figure.source }}</p>
</div>
{% endfor %}
{% for table in section.tables %}
<div class="table">
<h3>{{ table.title }}</h3>
<p class="definition">{{ table.definition }}</p>
{% if table.rows %}
<table>
<thead><tr>
{%- for column in table.columns %}
<th scope="col"{% if column.unit is not none and column.coded is none %} class="num"{% endif %}>
{{- column.title }}</th>
{%- endfor -%}
</tr></thead>
<tbody>
{% for row in table.rows %}{% set r = loop.index0 %}
<tr>
{%- for column in table.columns %}{% set c = loop.index0 %}
{%- set number = column.unit is not none and table.labels[r][c] is none -%}
<td{% if number %} class="num"{% endif %}>{{ table.shown(r, c, lang) }}</td>
{%- endfor -%}
</tr>
{% endfor %}
</tbody>
</table>
{% else %}<p>{{ words.empty_table }}</p>{% endif %}
<p class="source">{{ words.source }}: {{ table.source }}</p>
</div>
{% endfor %}
</section>
{% endfor %}
<footer>{{ words.footer }}</footer>
</body>
</html>
"""

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_REPORT = _ENVIRONMENT.from_string(_TEMPLATE)


@dataclass(frozen=True, slots=True)
class ReportContext:
    """Whose figures and which month: names already in the reader's language."""

    month: date  # its first day
    start: date
    end: date
    centres: str
    municipalities: str
    condition: str
    made_at: datetime  # Europe/Oslo
    made_by: str
    language: Language


def month_name(month: date, language: Language) -> str:
    """ "november 2026" / "November 2026"."""
    text: str = format_date(month, "LLLL y", locale=LOCALES[language])
    return text


def render_report(sections: Sequence[SectionView], context: ReportContext) -> str:
    """The report as one HTML page (A4 when printed)."""
    language = context.language
    return _REPORT.render(
        lang=language,
        words={key: text.in_language(language) for key, text in _WORDS.items()},
        month=month_name(context.month, language),
        period_word="Period" if language == "en" else "Periode",
        period=f"{context.start:%d.%m.%Y}–{context.end:%d.%m.%Y}",
        centres=context.centres,
        municipalities=context.municipalities,
        condition=context.condition,
        made=f"{context.made_at:%d.%m.%Y %H:%M}",
        made_by=context.made_by,
        sections=sections,
        ratio=lambda value: ratio_text(value, language),
    )
