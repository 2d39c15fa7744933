"""The patient's tablet pages, served by the gateway process on 127.0.0.1 (docs/tablet.md).

Server-rendered HTML (Starlette routes through FastAPI, Jinja2 templates, one CSS file): every
button is a form or a link, so the pages work in any kiosk browser, and nothing is fetched from
the internet. One small script of our own (static/tablet.js, no library) keeps the home page
current: every :data:`REFRESH_S` seconds it asks ``/version`` — a digest of what the home page
shows — and reloads the page only when that changed (a receipt, a reminder's time, a message,
the state), so reminders, colours and the nurse's messages appear by themselves while nothing
moves under the patient's finger otherwise. (A ``<meta http-equiv="refresh">`` would reload
every time, which WCAG 2.2.1 forbids.)

What the pages show comes from three places, all on this gateway's disk: the service's last
``dho.tablet/1`` state (:class:`~gateway.tablet.state.TabletStore`), the outbox's result rows
(what each receipt said, :meth:`~gateway.outbox.Outbox.results`) and the paired devices. What
the patient does goes into the outbox through the :class:`~gateway.recorder.Recorder`, checked
against the contract, and is published by the gateway's publisher like any reading.

The language is bokmål unless the ``lang`` cookie says ``en`` (one tap on every page).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.contract import ContractError
from gateway.known_devices import KnownDevices
from gateway.outbox import Outbox, OutboxFullError, Result
from gateway.recorder import Recorder
from gateway.tablet import manual, today
from gateway.tablet.state import Questionnaire, TabletState, TabletStore, Text

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
#: How often the home page reloads itself (reminders, receipts, messages).
REFRESH_S = 30
#: How far back the pages look at results (the latest of each kind, today's tasks).
RESULTS_DAYS = 14
#: The cookie of red results the patient said they read (ids, comma-separated).
RED_SEEN_COOKIE = "red_seen"
LANG_COOKIE = "lang"
COOKIE_AGE_S = 400 * 24 * 3600

#: Texts of the pages, bokmål and English (the plan's and the nurse's texts come in the state).
T: dict[str, Text] = {
    key: Text(nb=nb, en=en)
    for key, nb, en in [
        ("today", "I dag", "Today"),
        ("hello", "Hei", "Hello"),
        ("lang_other", "English", "Norsk"),
        (
            "no_state",
            "Nettbrettet har ikke fått planen din fra oppfølgingstjenesten ennå.",
            "The tablet has not yet received your plan from the follow-up centre.",
        ),
        (
            "no_plan",
            "Du har ingen godkjent plan ennå. Oppfølgingstjenesten lager den.",
            "You have no approved plan yet. The follow-up centre is making it.",
        ),
        ("nothing_today", "Ingenting er planlagt i dag.", "Nothing is planned today."),
        ("done", "Gjort", "Done"),
        ("not_yet", "Ikke ennå", "Not yet"),
        ("now", "Nå", "Now"),
        ("overdue", "Forsinket", "Overdue"),
        ("at", "kl.", "at"),
        ("due_by", "innen kl.", "by"),
        ("reminder", "Påminnelse", "Reminder"),
        ("time_to", "Det er tid for", "It is time for"),
        ("turn_on", "Slå på", "Turn on"),
        ("answer", "Svar på", "Answer"),
        ("results", "Siste resultater", "Latest results"),
        ("sent_ok", "Sendt til oppfølgingstjenesten ✓", "Sent to the follow-up centre ✓"),
        (
            "waiting",
            "Sendt, venter på svar fra oppfølgingstjenesten",
            "Sent, waiting for an answer from the follow-up centre",
        ),
        (
            "rejected",
            "Ikke mottatt av oppfølgingstjenesten. Ring dem hvis du er usikker.",
            "Not accepted by the follow-up centre. Call them if you are unsure.",
        ),
        (
            "no_colour",
            "Mottatt. Planen din gir ikke dette en farge.",
            "Received. Your plan does not give this a colour.",
        ),
        ("typed", "Tastet inn av deg", "Typed in by you"),
        ("devices", "Apparatene dine", "Your devices"),
        ("device_ok", "i orden", "fine"),
        ("call_me", "Ring meg", "Call me"),
        (
            "call_me_help",
            "Trykk hvis du vil at oppfølgingstjenesten skal ringe deg.",
            "Press if you want the follow-up centre to call you.",
        ),
        ("called_asked", "Du har bedt om å bli ringt", "You have asked to be called"),
        ("called_done", "Oppfølgingstjenesten har ringt deg", "The follow-up centre called you"),
        ("messages", "Melding fra oppfølgingstjenesten", "Message from the follow-up centre"),
        ("read_it", "Jeg har lest den", "I have read it"),
        ("questionnaires", "Spørreskjema", "Questionnaires"),
        ("manual", "Skriv inn en måling selv", "Type in a measurement yourself"),
        ("manual_help", "Når måleren ikke sender selv.", "When the meter does not send it."),
        ("back", "Tilbake", "Back"),
        ("next", "Neste", "Next"),
        ("home", "Til forsiden", "Home"),
        ("question", "Spørsmål", "Question"),
        ("of", "av", "of"),
        ("summary", "Se over svarene dine", "Check your answers"),
        ("change", "Endre", "Change"),
        ("send", "Send svarene", "Send the answers"),
        ("sent_answers", "Svarene er lagret og sendes.", "The answers are kept and sent."),
        ("not_answered", "Ikke svart", "Not answered"),
        ("red_title", "Viktig: din måling er rød", "Important: your result is red"),
        ("call", "Ring", "Call"),
        ("understood", "Jeg har forstått", "I understand"),
        ("centre_open", "Oppfølgingstjenesten er åpen nå.", "The follow-up centre is open now."),
        ("erase", "Slett", "Erase"),
        ("skip", "Hopp over", "Skip"),
        ("save", "Lagre målingen", "Save the measurement"),
        ("kept_reading", "Målingen er lagret og sendes.", "The measurement is kept and sent."),
        ("choose_kind", "Hva vil du skrive inn?", "What do you want to type in?"),
        (
            "outbox_full",
            "Nettbrettet er fullt. Ring oppfølgingstjenesten.",
            "The tablet is full. Call the follow-up centre.",
        ),
        (
            "refused",
            "Dette kunne ikke sendes. Ring oppfølgingstjenesten.",
            "This could not be sent. Call the follow-up centre.",
        ),
        ("safety", "Hvis du blir verre", "If you get worse"),
        ("optional", "kan hoppes over", "may be skipped"),
    ]
}


#: The safety text shown when the service has sent no plan yet (the plan's own text otherwise):
#: the same numbers as the service's fixed text, so a result is never shown without it.
DEFAULT_SAFETY = Text(
    nb="Hvis du blir verre, ring legevakt 116 117. Ved livstruende tilstand, ring 113.",
    en="If you get worse, call the out-of-hours service 116 117. If life is at risk, call 113.",
)


@dataclass
class TabletContext:
    """What the pages read and write: the gateway's own files and clock."""

    store: TabletStore
    outbox: Outbox
    recorder: Recorder
    known: KnownDevices
    clock: Callable[[], datetime]
    zone: ZoneInfo  # the gateway's zone, until the state names one
    host: str = "127.0.0.1"  # the address served (DHO_GATEWAY_TABLET_HOST)


def make_app(ctx: TabletContext) -> FastAPI:
    """The tablet's web app over ``ctx``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def same_site_only(request: Request, call_next: Any) -> Response:
        """Only pages of this host: a request whose Host is not the address served (DNS
        rebinding) or a form sent from another site's page (its Origin) is refused (403)."""
        host = request.headers.get("host", "")
        if not _local_host(host, ctx.host):
            return Response("not this host", status_code=403)
        origin = request.headers.get("origin")
        if request.method != "GET" and origin is not None and origin != f"http://{host}":
            return Response("forms of this site only", status_code=403)
        response: Response = await call_next(request)
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        trim_blocks=True,
    )

    def language(request: Request) -> str:
        return "en" if request.cookies.get(LANG_COOKIE) == "en" else "nb"

    def page(request: Request, template: str, **values: Any) -> HTMLResponse:
        lang = language(request)
        state = ctx.store.state
        zone = state.zone if state else ctx.zone
        now = ctx.clock()

        def tr(key: str) -> str:
            return T[key].in_(lang)

        def text(value: Text | None) -> str:
            return value.in_(lang) if value is not None else ""

        def hhmm(at: datetime) -> str:
            return at.astimezone(zone).strftime("%H:%M")

        def when(at: datetime) -> str:
            return today.when_words(at, now, zone, lang)

        html = env.get_template(template).render(
            lang=lang,
            tr=tr,
            text=text,
            hhmm=hhmm,
            when=when,
            state=state,
            path=request.url.path,
            unit=lambda field: manual.unit_in(field, lang),
            kind_name=lambda kind: text(today.KIND_NAMES.get(kind, Text(nb=kind, en=kind))),
            **values,
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def results() -> list[Result]:
        return ctx.outbox.results(ctx.clock() - timedelta(days=RESULTS_DAYS))

    def seen_reds(request: Request) -> list[str]:
        return [i for i in request.cookies.get(RED_SEEN_COOKIE, "").split(",") if i]

    def questionnaire_name(state: TabletState | None, kind: str) -> Text | None:
        if state is None or state.plan is None:
            return None
        found = state.plan.questionnaire(kind)
        return found.title if found else None

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        state = ctx.store.state
        now = ctx.clock()
        kept = results()
        red = today.fresh_red(kept, now, seen_reds(request))
        if red is not None:
            return RedirectResponse(f"/red/{red.id}", status_code=303)
        zone = state.zone if state else ctx.zone
        plan = state.plan if state else None
        tasks = today.tasks_today(plan.schedule if plan else (), kept, now, zone)
        views = today.latest_results(kept)
        devices = ctx.known.all()
        seen_profiles = {d.profile: d.last_seen_at for d in devices}
        closed = (
            today.closed_text(now, state.centre.staffed, zone, state.centre.name, language(request))
            if state
            else None
        )
        return page(
            request,
            "home.html",
            refresh=REFRESH_S,
            version=home_version(request),
            tasks=tasks,
            reminders=today.reminders(tasks),
            views=views,
            advice_of=lambda view: view.advice or today.plan_advice(plan, view.colour),
            colour_word=lambda colour: today.COLOUR_WORDS[colour],
            safety=today.needs_safety_text(views),
            safety_text=plan.safety_text if plan else DEFAULT_SAFETY,
            plan=plan,
            devices=today.device_lines(
                ((d.profile, d.last_seen_at, d.battery) for d in devices), now
            ),
            device_for=lambda kind: _device_hint(kind, seen_profiles, now, zone),
            call=today.call_view(kept, state.call_requests if state else (), now),
            messages=today.unread_messages(state.messages if state else (), kept),
            closed=closed,
            questionnaire_name=lambda kind: questionnaire_name(state, kind),
        )

    def home_version(request: Request) -> str:
        """A digest of what the home page shows now (the script reloads when it changes)."""
        state = ctx.store.state
        now = ctx.clock()
        kept = results()
        zone = state.zone if state else ctx.zone
        plan = state.plan if state else None
        tasks = today.tasks_today(plan.schedule if plan else (), kept, now, zone)
        closed = state is not None and not today.is_open(now, state.centre.staffed)
        parts = [
            state.issued_at.isoformat() if state else "",
            language(request),
            ",".join(f"{r.id}:{r.status}:{r.colour}" for r in kept),
            ",".join(t.status.value for t in tasks),
            str(closed),
            str(len(ctx.known.all())),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @app.get("/version")
    def version(request: Request) -> Response:
        return Response(
            home_version(request), media_type="text/plain", headers={"Cache-Control": "no-store"}
        )

    @app.get("/lang")
    def switch_language(request: Request, back: str = "/") -> Response:
        response = RedirectResponse(_local_path(back), status_code=303)
        other = "nb" if language(request) == "en" else "en"
        response.set_cookie(LANG_COOKIE, other, max_age=COOKIE_AGE_S, samesite="strict")
        return response

    # --- red

    @app.get("/red/{result_id}", response_class=HTMLResponse)
    def red_page(request: Request, result_id: str) -> Response:
        state = ctx.store.state
        now = ctx.clock()
        red = next((r for r in results() if r.id == result_id and r.colour == "red"), None)
        if red is None or red.status not in ("stored", "duplicate"):
            return RedirectResponse("/", status_code=303)
        plan = state.plan if state else None
        advice = Text(**red.advice) if red.advice else today.plan_advice(plan, "red")
        zone = state.zone if state else ctx.zone
        closed = (
            today.closed_text(now, state.centre.staffed, zone, state.centre.name, language(request))
            if state
            else None
        )
        return page(request, "red.html", red=red, advice=advice, plan=plan, closed=closed)

    @app.post("/red/{result_id}/seen")
    def red_seen(request: Request, result_id: str) -> Response:
        seen = [*seen_reds(request)[-20:], result_id]
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            RED_SEEN_COOKIE, ",".join(seen), max_age=COOKIE_AGE_S, samesite="strict"
        )
        return response

    # --- ring meg, messages

    @app.post("/call")
    def call_me() -> Response:
        try:
            ctx.recorder.call_request(str(uuid.uuid4()))
        except (OutboxFullError, ContractError) as err:
            log.error("call request not kept: %s", err)
            return RedirectResponse("/?problem=outbox_full", status_code=303)
        return RedirectResponse("/#call", status_code=303)

    @app.post("/messages/{message_id}/read")
    def message_read(message_id: str) -> Response:
        state = ctx.store.state
        if state is None or all(m.id != message_id for m in state.messages):
            return RedirectResponse("/", status_code=303)
        try:
            ctx.recorder.message_read(str(uuid.uuid4()), message_id)
        except (OutboxFullError, ContractError) as err:
            log.error("message read receipt not kept: %s", err)
            return RedirectResponse("/?problem=outbox_full", status_code=303)
        return RedirectResponse("/", status_code=303)

    # --- questionnaires

    def find_questionnaire(questionnaire_id: str) -> Questionnaire | None:
        state = ctx.store.state
        if state is None or state.plan is None:
            return None
        return state.plan.questionnaire(questionnaire_id)

    @app.get("/q/{questionnaire_id}", response_class=HTMLResponse)
    def questionnaire_page(request: Request, questionnaire_id: str, step: int = 0) -> Response:
        found = find_questionnaire(questionnaire_id)
        if found is None:
            return RedirectResponse("/", status_code=303)
        answers = _answers(request, found)
        step = max(0, min(step, len(found.items)))
        if step == len(found.items):
            return page(
                request,
                "summary.html",
                q=found,
                message_id=str(uuid.uuid4()),  # one id however often Send is pressed
                answers=answers,
                label=lambda item, value: _label(found, item, value),
                query=lambda **extra: _query(answers, **extra),
            )
        return page(
            request,
            "question.html",
            q=found,
            step=step,
            item=found.items[step],
            answers=answers,
            query=lambda **extra: _query(answers, **extra),
        )

    @app.post("/q/{questionnaire_id}/send")
    async def questionnaire_send(request: Request, questionnaire_id: str) -> Response:
        found = find_questionnaire(questionnaire_id)
        if found is None:
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        answers = {
            item.id: _typed_answer(item, str(form[f"a_{item.id}"]))
            for item in found.items
            if f"a_{item.id}" in form
        }
        message_id = str(form.get("message_id") or uuid.uuid4())
        try:
            ctx.recorder.report(message_id, found.id, answers)
        except (OutboxFullError, ContractError) as err:
            log.error("answers to %s not kept: %s", found.id, err)
            return page(request, "done.html", message=T["refused"])
        return page(request, "done.html", message=T["sent_answers"])

    # --- manual entry

    @app.get("/manual", response_class=HTMLResponse)
    def manual_kinds(request: Request) -> Response:
        return page(request, "manual_kinds.html", kinds=list(manual.MANUAL_KINDS))

    @app.get("/manual/{kind}", response_class=HTMLResponse)
    def manual_pad(
        request: Request, kind: str, step: int = 0, entry: str = "", key: str = ""
    ) -> Response:
        fields = manual.MANUAL_KINDS.get(kind)
        if fields is None:
            return RedirectResponse("/manual", status_code=303)
        typed = {
            f.key: float(request.query_params[f"v_{f.key}"])
            for f in fields
            if _is_number(request.query_params.get(f"v_{f.key}"))
        }
        step = max(0, min(step, len(fields) - 1))
        field = fields[step]
        entry = _press(entry, key, field)
        problem: Text | None = None
        if key in ("next", "skip"):
            value = manual.parse_entry(entry, field) if key == "next" else None
            if key == "next" and value is None:
                problem = Text(nb="Skriv inn et tall først.", en="Type a number first.")
            elif value is not None and (problem := manual.check_value(field, value)) is None:
                typed[field.key] = value
            if problem is None and key == "skip" and step < _required_count(kind):
                problem = Text(nb="Denne må fylles ut.", en="This one is needed.")
            if problem is None:
                if step + 1 < len(fields):
                    query = {f"v_{k}": f"{v:g}" for k, v in typed.items()}
                    return RedirectResponse(
                        f"/manual/{kind}?{urlencode({**query, 'step': step + 1})}",
                        status_code=303,
                    )
                return page(
                    request,
                    "manual_confirm.html",
                    message_id=str(uuid.uuid4()),
                    kind=kind,
                    fields=fields,
                    typed=typed,
                )
        return page(
            request,
            "manual_pad.html",
            kind=kind,
            fields=fields,
            field=field,
            step=step,
            entry=entry,
            typed=typed,
            optional=step >= _required_count(kind),
            problem=problem,
        )

    @app.post("/manual/{kind}/save")
    async def manual_save(request: Request, kind: str) -> Response:
        fields = manual.MANUAL_KINDS.get(kind)
        if fields is None:
            return RedirectResponse("/manual", status_code=303)
        form = await request.form()
        typed: dict[str, float] = {}
        for field in fields:
            raw = form.get(f"v_{field.key}")
            if isinstance(raw, str) and _is_number(raw):
                value = float(raw)
                if manual.check_value(field, value) is not None:
                    return RedirectResponse(f"/manual/{kind}", status_code=303)
                typed[field.key] = value
        if len(typed) < _required_count(kind):
            return RedirectResponse(f"/manual/{kind}", status_code=303)
        message_id = str(form.get("message_id") or uuid.uuid4())
        try:
            ctx.recorder.typed_reading(message_id, kind, manual.typed_values(kind, typed))
        except (OutboxFullError, ContractError) as err:
            log.error("typed %s reading not kept: %s", kind, err)
            return page(request, "done.html", message=T["refused"])
        return page(request, "done.html", message=T["kept_reading"])

    return app


def _required_count(kind: str) -> int:
    """The fields of ``kind`` that must be typed (the first ones; pulse may be skipped)."""
    return {"blood_pressure": 2, "spo2": 1}.get(kind, 1)


def _is_number(text: str | None) -> bool:
    if text is None:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _press(entry: str, key: str, field: manual.Field) -> str:
    """The pad's text after pressing ``key`` (a digit, "comma" or "erase")."""
    if key.isdigit() and len(key) == 1 and len(entry) < 6:
        return entry + key
    if key == "comma" and field.decimals and "," not in entry:
        return (entry or "0") + ","
    if key == "erase":
        return entry[:-1]
    return entry


def _answers(request: Request, q: Questionnaire) -> dict[str, str]:
    return {
        item.id: request.query_params[f"a_{item.id}"]
        for item in q.items
        if f"a_{item.id}" in request.query_params
    }


def _query(answers: dict[str, str], **extra: Any) -> str:
    """A query string with the answers so far and ``extra`` (``a_<item>`` sets an answer)."""
    values: dict[str, Any] = {f"a_{k}": v for k, v in answers.items()}
    values.update(extra)
    return urlencode(values)


def _label(q: Questionnaire, item_id: str, value: str) -> Text | None:
    item = q.question(item_id)
    if item is None:
        return None
    option = next((o for o in item.options if str(o.value) == value), None)
    return option.label if option else Text(nb=value, en=value)


def _typed_answer(item: Any, raw: str) -> str | int | bool:
    """The answer as the definition's option value has it (text, whole number or yes/no)."""
    for option in item.options:
        if str(option.value) == raw:
            value: str | int | bool = option.value
            return value
    return raw


def _device_hint(
    kind: str, seen: dict[str, datetime | None], now: datetime, zone: ZoneInfo
) -> Text | None:
    """ "Slå på blodtrykksmåleren" for a task whose device was not seen today."""
    profile = today.KIND_DEVICE.get(kind)
    if profile is None or profile not in seen:
        return None
    last = seen[profile]
    if last is not None and today.local_today(last, zone) == today.local_today(now, zone):
        return None
    name = today.DEVICE_NAMES[profile]
    return Text(nb=f"Slå på {name.nb}", en=f"Turn on {name.en}")


def _local_host(host: str, served: str) -> bool:
    """Whether a Host header names this machine (the pages are for the browser beside them) or
    the address served."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in ("127.0.0.1", "localhost", "[::1]", served)


def _local_path(path: str) -> str:
    """Only a path on this site (never another host) after switching the language."""
    return path if path.startswith("/") and not path.startswith("//") else "/"
