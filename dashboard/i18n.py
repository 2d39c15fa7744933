"""The dashboard's words in Norwegian bokmål (the default) and English.

Domain words are the ones a Norwegian nurse uses: *egenbehandlingsplan* (self-management plan),
*oppfølgingstjeneste* (follow-up centre), *fastlege* (GP). A missing key raises ``KeyError`` in
tests (``tests/unit/test_dashboard_i18n.py`` checks that every key has both languages).
"""

from __future__ import annotations

from typing import Literal

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")

#: key → (bokmål, English)
WORDS: dict[str, tuple[str, str]] = {
    # everyone
    "app_title": ("DHO oppfølgingstjeneste", "DHO follow-up centre"),
    "language": ("Språk", "Language"),
    "login": ("Logg inn", "Log in"),
    "logout": ("Logg ut", "Log out"),
    "username": ("Brukernavn", "Username"),
    "password": ("Passord", "Password"),
    "login_intro": (
        "Digital hjemmeoppfølging: logg inn med brukeren din fra oppfølgingstjenesten.",
        "Digital home follow-up: log in with your follow-up centre account.",
    ),
    "login_failed": ("Innloggingen ble avvist", "Login refused"),
    "login_wrong": ("Feil brukernavn eller passord.", "Wrong username or password."),
    "login_too_many": (
        "For mange forsøk. Vent litt og prøv igjen.",
        "Too many attempts. Wait a little and try again.",
    ),
    "logged_in_as": ("Innlogget som", "Logged in as"),
    "session_ended": (
        "Innloggingen er utløpt. Logg inn på nytt.",
        "Your login has ended. Please log in again.",
    ),
    # issue 20: sign-in with HelseID (OpenID Connect)
    "login_with": ("Logg inn med {provider}", "Sign in with {provider}"),
    "login_intro_oidc": (
        "Helsepersonell logger inn med HelseID (BankID eller Buypass).",
        "Health personnel sign in with HelseID (BankID or Buypass).",
    ),
    "login_password_heading": (
        "Eller med brukernavn og passord",
        "Or with username and password",
    ),
    "login_no_way": (
        "Ingen innloggingsmåte er satt opp. Kontakt administrator.",
        "No way to log in has been set up. Contact the administrator.",
    ),
    "login_providers_unavailable": (
        "Fant ikke innloggingstjenestene",
        "Could not find the sign-in services",
    ),
    "login_error_title": ("Innloggingen ble avvist", "Sign-in refused"),
    "login_error_unknown_person": (
        "Du er ikke registrert i DHO. Be administrator legge deg til med HPR-nummeret ditt.",
        "You are not registered in DHO. Ask the administrator to add you with your HPR number.",
    ),
    "login_error_level_too_low": (
        "Innloggingen hadde for lavt sikkerhetsnivå for DHO. Logg inn på nytt med BankID eller "
        "Buypass (sikkerhetsnivå 4).",
        "The sign-in's security level is too low for DHO. Sign in again with BankID or Buypass "
        "(security level 4).",
    ),
    "login_error_invalid_token": (
        "DHO kunne ikke bekrefte svaret fra innloggingstjenesten og avviste innloggingen. "
        "Prøv igjen; skjer det igjen, kontakt administrator.",
        "DHO could not verify the sign-in service's answer and refused the sign-in. Try again; "
        "if it happens again, contact the administrator.",
    ),
    "login_error_expired_attempt": (
        "Innloggingsforsøket er utløpt eller allerede brukt. Start innloggingen på nytt.",
        "The sign-in attempt has expired or was already used. Start the sign-in again.",
    ),
    "login_error_not_own_patient": (
        "Pasienten du åpnet fra journalen er ikke din pasient i DHO. Du kan bare åpne dine egne "
        "pasienter; logg inn for å se dem under «Mine pasienter».",
        "The patient you opened from the record is not your patient in DHO. You can only open "
        "your own patients; sign in to see them under “My patients”.",
    ),
    "login_error_provider_error": (
        "Innloggingstjenesten svarte med en feil, eller innloggingen ble avbrutt. Prøv igjen "
        "om litt.",
        "The sign-in service answered with an error, or the sign-in was cancelled. Try again "
        "in a little while.",
    ),
    "login_error_password_only_role": (
        "Rollen din logger inn med brukernavn og passord i DHO, ikke med HelseID. Bruk "
        "skjemaet under.",
        "Your role logs in to DHO with username and password, not with HelseID. Use the form "
        "below.",
    ),
    "login_error_session_ended": (
        "Innloggingen din er avsluttet: den er utløpt, du er logget ut hos innloggingstjenesten, "
        "eller du må logge inn på nytt. Logg inn igjen for å fortsette.",
        "Your login has ended: it expired, you logged out at the sign-in service, or you need "
        "to sign in again. Sign in again to continue.",
    ),
    "login_error_other": (
        "Innloggingen ble avvist ({code}). Prøv igjen; skjer det igjen, kontakt administrator.",
        "The sign-in was refused ({code}). Try again; if it happens again, contact the "
        "administrator.",
    ),
    "login_password_refused_role": (
        "Rollen din kan ikke logge inn med passord her. Logg inn med HelseID.",
        "Your role may not log in with a password here. Sign in with HelseID.",
    ),
    "role": ("Rolle", "Role"),
    "role_nurse": ("Sykepleier", "Nurse"),
    "role_gp": ("Fastlege", "GP"),
    "role_admin": ("Administrator", "Administrator"),
    "role_lead": ("Leder", "Centre lead"),
    "error_prefix": ("Tjenesten svarte", "The service answered"),
    # navigation
    "nav_worklist": ("Arbeidsliste", "Worklist"),
    "nav_patient": ("Pasient", "Patient"),
    "nav_plans": ("Egenbehandlingsplaner", "Self-management plans"),
    "nav_enrolment": ("Innskriving", "Enrolment"),
    "nav_gp": ("Mine pasienter", "My patients"),
    "nav_summary": ("Utskrift", "Printable summary"),
    "nav_admin": ("Administrasjon", "Administration"),
    "nav_account": ("Konto", "Account"),
    # worklist
    "worklist_title": ("Arbeidsliste", "Worklist"),
    "worklist_caption": (
        "Rød først, så gul; innenfor hver farge den som har ventet lengst.",
        "Red first, then yellow; the longest waiting first within each colour.",
    ),
    "updated_at": ("Oppdatert", "Updated"),
    "new_red_banner": ("NYTT RØDT VARSEL", "NEW RED ALERT"),
    "new_red_detail": (
        "{names} — åpne pasienten nå.",
        "{names} — open the patient now.",
    ),
    "count_red": ("røde", "red"),
    "count_yellow": ("gule", "yellow"),
    "count_lost": ("mistet kontakt", "lost contact"),
    "count_green": ("grønne", "green"),
    "empty_worklist": (
        "Ingen pasienter å følge opp akkurat nå.",
        "No patients to follow up right now.",
    ),
    "open_patient": ("Åpne", "Open"),
    "waiting": ("venter", "waiting"),
    "assigned_to": ("Ansvarlig", "Assigned"),
    "nobody_assigned": ("ikke tildelt", "not assigned"),
    "lost_contact": ("Mistet kontakt", "Lost contact"),
    "lost_contact_rule": ("Ingen kontakt med hjemmeenheten", "No contact with the home gateway"),
    "missing_measurement": ("Manglende måling", "Missing measurement"),
    "missing_data": ("Mangler måling", "Missing measurement"),
    "paused": ("På pause", "Paused"),
    "call_me": ("Ring meg", "Call me"),
    "call_asked": ("ba om det", "asked"),
    "call_done": ("Har ringt", "Done"),
    "call_done_flash": ("Markert som ringt", "Marked as called"),
    "patient_typed": ("Tastet inn av pasienten", "Typed in by the patient"),
    "messages": ("Meldinger til pasienten", "Messages to the patient"),
    "message_text": ("Melding (vises på nettbrettet)", "Message (shown on the tablet)"),
    "send_message": ("Send", "Send"),
    "message_sent": ("Meldingen er sendt.", "The message was sent."),
    "message_read": ("lest", "read"),
    "message_unread": ("ikke lest ennå", "not read yet"),
    "no_messages": ("Ingen meldinger sendt", "No messages sent"),
    "greens_waiting": (
        "{readings} venter på kvittering hos {patients}",
        "{readings} waiting for acknowledgement from {patients}",
    ),
    "green_readings_one": ("{count} grønn måling", "{count} green reading"),
    "green_readings_many": ("{count} grønne målinger", "{count} green readings"),
    "patients_one": ("{count} pasient", "{count} patient"),
    "patients_many": ("{count} pasienter", "{count} patients"),
    "ack_greens": ("Kvitter ut alle grønne", "Acknowledge all greens"),
    "greens_acked": (
        "{count} grønne målinger kvittert ut.",
        "{count} green readings acknowledged.",
    ),
    "no_greens": ("Ingen grønne målinger venter.", "No green readings waiting."),
    "staffed_today": (
        "Bemannet i dag {opens}–{closes}{centre}",
        "Staffed today {opens}–{closes}{centre}",
    ),
    "closed_today": ("Stengt i dag: {name}", "Closed today: {name}"),
    "next_closed_day": (
        "Neste stengte hverdag: {when} ({name})",
        "Next closed weekday: {when} ({name})",
    ),
    "local_closure": ("lokal stengning", "local closure"),
    "today": ("i dag", "today"),
    "tomorrow": ("i morgen", "tomorrow"),
    "overnight": ("Kommet inn mens det var stengt", "Arrived since closing"),
    "filter_colour": ("Vis", "Show"),
    "filter_all": ("Alle", "All"),
    # patient
    "choose_patient": ("Velg pasient", "Choose a patient"),
    "choose": ("Velg …", "Choose …"),
    "no_patient": (
        "Velg en pasient fra arbeidslisten.",
        "Choose a patient from the worklist.",
    ),
    "condition": ("Diagnose", "Condition"),
    "gp": ("Fastlege", "GP"),
    "plan": ("Egenbehandlingsplan", "Self-management plan"),
    "plan_version": ("versjon {version}", "version {version}"),
    "no_plan": ("Ingen godkjent plan", "No approved plan"),
    "goal": ("Pasientens mål", "The patient's goal"),
    "no_goal": ("Ikke skrevet ennå", "Not written yet"),
    "centre": ("Oppfølgingstjeneste", "Follow-up centre"),
    "current_zone": ("Nå", "Now"),
    "advice_patient": ("Råd til pasienten", "Advice to the patient"),
    "advice_nurse": ("Sykepleierens oppgave", "The nurse's instruction"),
    "charts": ("Målinger de siste 30 dagene", "Readings, last 30 days"),
    "no_readings": ("Ingen målinger de siste 30 dagene.", "No readings in the last 30 days."),
    "timeline": ("Tidslinje", "Timeline"),
    "reading_kind_other": ("Måling", "Reading"),
    "questionnaire_other": ("Skjema", "Questionnaire"),
    "open_alerts": ("Åpne varsler", "Open alerts"),
    "no_open_alerts": ("Ingen åpne varsler.", "No open alerts."),
    "no_timeline": (
        "Ingen hendelser ennå: varsler, tiltak og notater vises her.",
        "Nothing yet: alerts, actions and notes show here.",
    ),
    "reports": ("Spørreskjema", "Questionnaires"),
    "value": ("Verdi", "Value"),
    "time": ("Tid", "Time"),
    "zone": ("Sone", "Zone"),
    # data-quality flags on a reading (dashboard/trust.py): why its time or value is uncertain
    "data_note": ("Merknad om målingen", "Note on the reading"),
    "flag_timed_by_gateway": (
        "Tidspunktet er satt av gatewayen da den mottok målingen, ikke av måleren "
        "(målerens klokke var ikke stilt eller gikk feil)",
        "The time was set by the gateway when it received the value, not by the meter "
        "(the meter's clock was unset or wrong)",
    ),
    "flag_device_clock_ahead": (
        "Måleren hadde feil klokke (gikk foran): vurdert etter da gatewayen mottok målingen",
        "The meter's clock was wrong (ahead): assessed at the time the gateway received it",
    ),
    "flag_gateway_clock_ahead": (
        "Gatewayens klokke gikk foran: vurdert etter da tjenesten mottok målingen",
        "The gateway's clock was ahead: assessed at the time the service received it",
    ),
    "flag_gateway_clock_behind": (
        "Gatewayens klokke gikk etter: vurdert etter målerens tidspunkt",
        "The gateway's clock was behind: assessed at the meter's time",
    ),
    "flag_backfill": (
        "Sendt inn etter et brudd, lenge etter målingen: lagret som historikk, ga ikke varsel",
        "Sent in after an outage, long after it was taken: kept as history, raised no alert",
    ),
    "chart_legend": (
        "◆ stor rød: rødt område · ▲ gul: gult område · ● liten grønn: grønt område. "
        "Verdien står ved røde og gule målinger. 🕓 tidspunktet er usikkert, 📥 sendt inn "
        "etter et brudd, ⌨ tastet inn av pasienten: hold pekeren over punktet for å lese mer.",
        "◆ large red: red zone · ▲ yellow: yellow zone · ● small green: green zone. "
        "Red and yellow readings show their value. 🕓 the time is uncertain, 📥 sent in after "
        "an outage, ⌨ typed in by the patient: point at the reading to read more.",
    ),
    "back_to_worklist": ("← Arbeidsliste", "← Worklist"),
    "back_to_gp_overview": ("← Mine pasienter", "← My patients"),
    # alert handling
    "acknowledge": ("Kvitter ut", "Acknowledge"),
    "resolve": ("Avslutt varsel", "Resolve alert"),
    "record_action": ("Registrer tiltak", "Record action"),
    "outcome": ("Utfall", "Outcome"),
    "note": ("Notat", "Note"),
    "acknowledged_by": ("Kvittert av {by} {at}", "Acknowledged by {by} {at}"),
    "alert_acknowledged": ("Varselet er kvittert ut.", "The alert is acknowledged."),
    "alert_resolved": ("Varselet er avsluttet.", "The alert is resolved."),
    "action_recorded": ("Tiltaket er registrert.", "The action is recorded."),
    "alert_assigned": ("Varselet er tildelt {name}.", "The alert is assigned to {name}."),
    "alert_assigned_me": ("Varselet er tildelt deg.", "The alert is assigned to you."),
    "assign_to": ("Tildel til", "Assign to"),
    "assign": ("Tildel", "Assign"),
    "me": ("Meg", "Me"),
    "assigned_to_me": ("tildelt meg", "assigned to me"),
    "assigned_to_name": ("tildelt {name}", "assigned to {name}"),
    "opened": ("Åpnet", "Opened"),
    "breaches": ("grensebrudd", "breaches"),
    # GP
    "gp_title": ("Mine pasienter", "My patients"),
    "gp_caption": (
        "Avvik fra egenbehandlingsplanen og hva oppfølgingstjenesten gjorde.",
        "Deviations from the self-management plan and what the follow-up centre did.",
    ),
    "since_last_look": ("Siden du sist så", "Since you last looked"),
    "centre_did": ("Oppfølgingstjenesten", "The follow-up centre"),
    "nothing_done_yet": ("Ikke håndtert ennå", "Not handled yet"),
    "no_deviations": ("Ingen avvik.", "No deviations."),
    "drafts_to_approve": ("Planutkast til godkjenning", "Plan drafts to approve"),
    "gp_order_caption": (
        "Verst først: rød, så gul, og nyeste avvik først innen hver farge. Pasienter uten "
        "avvik er samlet nederst.",
        "Worst first: red, then yellow, and the newest deviation first within each colour. "
        "Patients without deviations are gathered at the bottom.",
    ),
    "without_deviations": (
        "{count} pasienter uten avvik",
        "{count} patients without deviations",
    ),
    "without_deviations_one": ("1 pasient uten avvik", "1 patient without deviations"),
    "no_deviations_anyone": (
        "Ingen avvik hos pasientene dine siden du sist så.",
        "No deviations among your patients since you last looked.",
    ),
    "draft_changes": (
        "Endringer mot versjonen i bruk (v{version}):",
        "Changes against the version in use (v{version}):",
    ),
    "draft_first_plan": (
        "Første plan for pasienten: ingen godkjent versjon å sammenligne med.",
        "The patient's first plan: no approved version to compare with.",
    ),
    "older_drafts": (
        "{count} eldre utkast av planen vises ikke: dette er det nyeste.",
        "{count} older drafts of this plan are not shown: this is the newest.",
    ),
    "older_drafts_one": (
        "1 eldre utkast av planen vises ikke: dette er det nyeste.",
        "1 older draft of this plan is not shown: this is the newest.",
    ),
    "approve": ("Godkjenn", "Approve"),
    "approved": ("Godkjent: {label}", "Approved: {label}"),
    "mark_seen": ("Merk som sett", "Mark as seen"),
    "marked_seen": (
        "Merket som sett. Nye avvik fra nå vises neste gang.",
        "Marked as seen. New deviations from now on show next time.",
    ),
    "never_looked": (
        "siste 7 dager (ikke merket som sett før)",
        "the last 7 days (never marked as seen)",
    ),
    "print_hint": (
        "Skriv ut med nettleserens utskrift (Ctrl+P); siden er laget for ett ark.",
        "Print with the browser's print (Ctrl+P); the page fits one sheet.",
    ),
    "summary_title": ("Sammendrag", "Summary"),
    # plans
    "plans_title": ("Egenbehandlingsplaner", "Self-management plans"),
    "versions": ("Versjoner", "Versions"),
    "new_from_template": ("Ny plan fra mal", "New plan from a template"),
    "create": ("Opprett", "Create"),
    "proposal": ("Forslag fra prøveperioden", "Proposal from the trial period"),
    "edit_bounds": ("Endre grenser", "Edit bounds"),
    "save_draft": ("Lagre utkast", "Save draft"),
    "why": ("Hvorfor (vises i historikken)", "Why (shown in the history)"),
    "diff": ("Forskjeller", "Differences"),
    "draft_saved": ("Utkast lagret: {label}", "Draft saved: {label}"),
    "status_draft": ("Utkast", "Draft"),
    "status_approved": ("Godkjent", "Approved"),
    "status_retired": ("Avløst", "Retired"),
    # plans: the bounds editor (a bound belongs to the worse zone; see docs/dashboard.md)
    "bound_red_low": ("Rød under", "Red below"),
    "bound_yellow_low": ("Gul under", "Yellow below"),
    "bound_yellow_high": ("Gul over", "Yellow above"),
    "bound_red_high": ("Rød over", "Red above"),
    "bound_zone_red": ("Rød", "Red"),
    "bound_zone_yellow": ("Gul", "Yellow"),
    "bound_none": ("Ingen grense", "No bound"),
    "bound_sentence_low_inclusive": (
        "{zone} når {value} eller lavere",
        "{zone} at {value} or below",
    ),
    "bound_sentence_low_strict": ("{zone} når under {value}", "{zone} below {value}"),
    "bound_sentence_high_inclusive": (
        "{zone} når {value} eller høyere",
        "{zone} at {value} or above",
    ),
    "bound_sentence_high_strict": ("{zone} når over {value}", "{zone} above {value}"),
    "operator": ("Sammenligning", "Comparison"),
    "operator_low_inclusive": ("≤ lik eller under", "≤ at or below"),
    "operator_low_strict": ("< under", "< below"),
    "operator_high_inclusive": ("≥ lik eller over", "≥ at or above"),
    "operator_high_strict": ("> over", "> above"),
    "bounds_caption": (
        "Tallfeltene viser desimalpunktum; under hvert felt står grensen slik pasientens tekst "
        "sier den. Sammenligningen beholdes når du bare endrer tallet. Tomt felt fjerner grensen.",
        "The number fields show a decimal point; below each field the bound reads as in the "
        "patient's text. The comparison is kept when you change only the number. An empty field "
        "removes the bound.",
    ),
    "none": ("Ingen", "None"),
    "diff_from": ("Fra versjon", "From version"),
    "diff_to": ("Til versjon", "To version"),
    "diff_tighter": ("strengere: varsler tidligere", "tighter: alerts earlier"),
    "diff_looser": ("løsere: varsler senere", "looser: alerts later"),
    "diff_looser_count": (
        "{count} av endringene gjør planen løsere – se over før godkjenning.",
        "{count} of the changes loosen the plan – check before approving.",
    ),
    "diff_none": ("Ingen forskjeller.", "No differences."),
    "diff_schedule_moved": ("Måling endret", "Measurement changed"),
    "diff_schedule_removed": ("Måling tatt ut av planen", "Measurement removed from the schedule"),
    "diff_schedule_added": ("Måling lagt til i planen", "Measurement added to the schedule"),
    "version": ("Versjon", "Version"),
    "proposal_readings": ("Målinger", "Readings"),
    "proposal_median": ("Median", "Median"),
    "proposal_template_red": ("Mal rød", "Template red"),
    "proposal_red": ("Forslag rød", "Proposed red"),
    "proposal_template_yellow": ("Mal gul", "Template yellow"),
    "proposal_yellow": ("Forslag gul", "Proposed yellow"),
    "proposal_why": ("Begrunnelse", "Why"),
    # plans: replaying a draft against the last days' readings
    "replay_title": (
        "Forhåndsvis mot siste 30 dager",
        "Preview against the last 30 days",
    ),
    "replay_caption": (
        "Målingene fra de siste {days} dagene vurdert på nytt med utkastet v{version}, med "
        "samme regler som ved mottak. Ingenting lagres.",
        "The readings of the last {days} days classified again with draft v{version}, by the "
        "same rules as on arrival. Nothing is saved.",
    ),
    "replay_as_stored": ("Slik de ble vurdert", "As classified"),
    "replay_under_version": ("Med utkastet v{version}", "Under draft v{version}"),
    "replay_now_would_be": ("Med utkastet", "Under the draft"),
    "replay_difference": ("Endring", "Change"),
    "replay_no_readings": (
        "Ingen målinger de siste {days} dagene å forhåndsvise mot.",
        "No readings in the last {days} days to preview against.",
    ),
    "replay_nothing_changes": (
        "Ingen av de {readings} målingene fra de siste {days} dagene ville fått en annen sone "
        "med v{version}.",
        "None of the {readings} readings of the last {days} days would have had another zone "
        "under v{version}.",
    ),
    "replay_nothing_changes_one": (
        "Den ene målingen fra de siste {days} dagene ville fått samme sone med v{version}.",
        "The one reading of the last {days} days would have had the same zone under v{version}.",
    ),
    "replay_some_change": (
        "{changed} av {readings} målinger fra de siste {days} dagene ville fått en annen sone "
        "med v{version}: {worse} mer alvorlig, {better} mindre alvorlig.",
        "{changed} of {readings} readings of the last {days} days would have had another zone "
        "under v{version}: {worse} more urgent, {better} less urgent.",
    ),
    "replay_worse": ("mer alvorlig", "more urgent"),
    "replay_better": ("mindre alvorlig", "less urgent"),
    "replay_why_after": ("Hvorfor med utkastet", "Why, under the draft"),
    "replay_why_before": ("Hvorfor da", "Why, then"),
    "replay_changed_readings": ("Målinger som skifter sone", "Readings that change zone"),
    "replay_truncated": (
        "Bare de nyeste {readings} målingene er vurdert (for mange til å ta alle).",
        "Only the newest {readings} readings were classified (too many to take all).",
    ),
    "replay_changes_truncated": (
        "Viser de {shown} nyeste av {total} målinger som skifter sone.",
        "Showing the newest {shown} of {total} readings that change zone.",
    ),
    "replay_chart_caption": (
        "Utkastets soner bak målingene; punktene har formen og fargen til sonen de ville fått "
        "med utkastets grenser (▲ rød, ◆ gul, ● grønn).",
        "The draft's zones behind the readings; each point has the shape and colour of the "
        "zone the draft's bounds would give it (▲ red, ◆ yellow, ● green).",
    ),
    # plans: the measurement schedule
    "schedule_title": ("Måleplan", "Measurement schedule"),
    "schedule_caption": (
        "Klokkeslett er lokal tid i {zone}. Samme måling kan ikke stå to ganger på samme "
        "tidspunkt.",
        "Times are local time in {zone}. The same measurement cannot be scheduled twice at "
        "the same time.",
    ),
    "schedule_kinds": ("Målinger", "Measurements"),
    "schedule_days": ("Dager", "Days"),
    "schedule_questionnaire": ("Spørreskjema (valgfritt)", "Questionnaire (optional)"),
    "schedule_remove": ("Ta ut", "Remove"),
    "schedule_new": ("Ny måling", "New measurement"),
    "schedule_save": ("Lagre måleplan som utkast", "Save schedule as a draft"),
    "schedule_unchanged": (
        "Måleplanen er ikke endret; ingenting er lagret.",
        "The schedule is unchanged; nothing was saved.",
    ),
    "questionnaire": ("skjema", "questionnaire"),
    "every_day": ("hver dag", "every day"),
    "due_by": ("innen", "by"),
    # enrolment
    "enrol_title": ("Innskriving", "Enrolment"),
    "display_name": ("Navn", "Name"),
    "national_id": ("Fødselsnummer (kun syntetisk)", "National id (synthetic only)"),
    "municipality_id": ("Kommune-id", "Municipality id"),
    "centre_id": ("Oppfølgingstjeneste-id", "Follow-up centre id"),
    "enrol": ("Skriv inn", "Enrol"),
    "enrolled": ("{name} er skrevet inn (prøveperiode).", "{name} is enrolled (trial period)."),
    "register_gateway": ("Registrer gateway", "Register gateway"),
    "credentials_once": (
        "Vises bare én gang: skriv dem inn i pasientens gateway nå.",
        "Shown only once: enter them in the patient's gateway now.",
    ),
    "gateways": ("Gatewayer (hjemmeenheter)", "Gateways"),
    "no_gateways": ("Ingen gateway registrert.", "No gateway registered."),
    "gateway_online": ("tilkoblet", "online"),
    "gateway_offline": ("ikke tilkoblet", "offline"),
    "gateway_revoked": ("trukket tilbake {at}", "revoked {at}"),
    "last_seen": ("Sist sett", "Last seen"),
    "never": ("aldri", "never"),
    "rotate": ("Ny hemmelighet", "New secret"),
    "rotated": (
        "Ny hemmelighet for {gateway}. Den gamle virker ikke lenger.",
        "New secret for {gateway}. The old one no longer works.",
    ),
    "revoke": ("Trekk tilbake", "Revoke"),
    "revoke_confirm": (
        "Trekke tilbake {gateway}? Målinger fra den blir avvist fra nå, og den kan ikke tas i "
        "bruk igjen (registrer en ny gateway i stedet).",
        "Revoke {gateway}? Its readings are refused from now on, and it cannot be used again "
        "(register a new gateway instead).",
    ),
    "revoke_yes": ("Ja, trekk tilbake", "Yes, revoke"),
    "cancel": ("Avbryt", "Cancel"),
    "revoked": ("{gateway} er trukket tilbake.", "{gateway} is revoked."),
    "pause": ("Sett på pause", "Pause"),
    "resume": ("Gjenoppta", "Resume"),
    "discharge": ("Avslutt oppfølgingen", "Discharge"),
    "reason": ("Begrunnelse", "Reason"),
    "state": ("Status", "State"),
    "state_trial": ("prøveperiode", "trial period"),
    "state_active": ("i oppfølging", "in follow-up"),
    "state_paused": ("på pause", "paused"),
    "state_discharged": ("avsluttet", "discharged"),
    "activate": ("Start oppfølgingen", "Start follow-up"),
    "state_changed": ("Status er nå: {state}", "The state is now: {state}"),
    "admin_intro": (
        "Administratorer ser pasientdata bare med en begrunnelse; bruk API-et for brukere og "
        "revisjonslogg.",
        "Administrators see patient data only with a reason; use the API for users and the "
        "audit log.",
    ),
    # issue 16: escalations and notifications
    "closed_goes_to": (
        "Utenfor bemannet tid{centre}: åpner {when}. Røde varsler som ingen kvitterer, sendes "
        "til {receivers}.",
        "Outside staffed hours{centre}: opens {when}. Red alerts nobody acknowledges are sent "
        "to {receivers}.",
    ),
    "closed_no_after_hours": (
        "Utenfor bemannet tid{centre}: åpner {when}. Ingen mottaker utenfor åpningstid er satt "
        "opp: røde varsler som ingen kvitterer, sendes til {receivers}.",
        "Outside staffed hours{centre}: opens {when}. No after-hours receiver is set up: red "
        "alerts nobody acknowledges are sent to {receivers}.",
    ),
    "closed_nobody": (
        "Utenfor bemannet tid{centre}: åpner {when}. Ingen mottaker utenfor åpningstid er satt "
        "opp: røde varsler blir liggende her til {when}.",
        "Outside staffed hours{centre}: opens {when}. No after-hours receiver is set up: red "
        "alerts wait here until {when}.",
    ),
    "closed_unknown": (
        "Utenfor bemannet tid{centre}: åpner {when}. Hvem som får røde varsler utenfor "
        "åpningstid, kunne ikke leses.",
        "Outside staffed hours{centre}: opens {when}. Who receives red alerts after hours "
        "could not be read.",
    ),
    "escalation_title": ("Eskalering", "Escalation"),
    "escalation_none": (
        "Ikke eskalert: ingen melding er sendt om dette varselet.",
        "Not escalated: no message has been sent about this alert.",
    ),
    "escalation_to": ("til {role}", "to {role}"),
    "patient_told": ("Pasienten fikk beskjed: {text}", "The patient was told: {text}"),
    "n_received": ("mottatt {at}", "received {at}"),
    "n_sent": ("sendt {at} ({tries})", "sent {at} ({tries})"),
    "n_dead": (
        "feilet etter {tries} – ring mottakeren",
        "failed after {tries} – phone the receiver",
    ),
    "n_cancelled": ("stoppet fordi varselet ble kvittert", "stopped: acknowledged"),
    "n_cancelled_received": (
        "stoppet fordi {name} bekreftet mottak",
        "stopped: {name} confirmed receipt",
    ),
    "n_retrying": ("venter på nytt forsøk ({tries})", "waiting to retry ({tries})"),
    "n_pending": ("venter på sending", "waiting to be sent"),
    "n_nobody": (
        "ingen mottaker er satt opp – ikke sendt til noen",
        "no receiver is set up – not sent to anyone",
    ),
    "yes": ("Ja", "Yes"),
    "no": ("Nei", "No"),
    "nav_notifications": ("Sendte varsler", "Sent notifications"),
    "notifications_title": ("Sendte varsler", "Sent notifications"),
    "notifications_caption": (
        "Meldinger DHO har sendt om røde varsler, testmeldinger og oppsummeringer, nyeste "
        "først. Meldingene inneholder ikke navn eller måleverdier; initialer og kommune bare "
        "til mottakere som er erklært sikre, når tjenesten har valgt det.",
        "Messages DHO has sent about red alerts, test messages and summaries, newest first. "
        "They carry no names and no values; initials and municipality only to receivers "
        "declared secure, when the centre has chosen so.",
    ),
    "no_notifications": ("Ingen varsler er sendt.", "No notifications have been sent."),
    "n_status": ("Status", "Status"),
    "n_patient": ("Pasient", "Patient"),
    "n_patient_hidden": (
        "skjult (oppgi en begrunnelse for å se navnet)",
        "hidden (give a reason to see the name)",
    ),
    "n_attempts": ("Forsøk", "Attempts"),
    "n_last_error": ("Siste feil", "Last error"),
    "n_show_attempts": ("Forsøk og svar fra leverandøren", "Attempts and the provider's answers"),
    "n_no_attempts": ("Ikke forsøkt ennå.", "Not attempted yet."),
    "n_message": ("Meldingen", "The message"),
    "n_all": ("Alle", "All"),
    "n_status_pending": ("venter", "waiting"),
    "n_status_sent": ("sendt", "sent"),
    "n_status_dead": ("feilet", "failed"),
    "n_status_cancelled": ("stoppet", "stopped"),
    "admin_reason": (
        "Begrunnelse for å se pasientnavn (logges)",
        "Reason to see patient names (logged)",
    ),
    "varsling_title": ("Varsling", "Notifications"),
    "varsling_caption": (
        "Hvem som får melding når et rødt varsel ikke blir kvittert: vakthavende sykepleier → "
        "andre sykepleier → legevakt/hjemmesykepleie → leder, hvert trinn etter sin ventetid. "
        "Utenfor åpningstid starter kjeden hos legevakt/hjemmesykepleie.",
        "Who is told when a red alert is not acknowledged: on-call nurse → second nurse → "
        "after-hours service → lead, each step after its delay. Outside staffed hours the "
        "chain starts at the after-hours service.",
    ),
    "targets": ("Mottakere", "Receivers"),
    "no_targets": (
        "Ingen mottakere er satt opp: røde varsler sendes ikke til noen.",
        "No receivers are set up: red alerts are not sent to anyone.",
    ),
    "roles_without_target": (
        "Ingen mottaker for: {roles} (trinnet hoppes over).",
        "No receiver for: {roles} (the step is skipped).",
    ),
    "t_label": ("Navn på mottaker", "Receiver's name"),
    "t_role": ("Rolle i kjeden", "Role in the chain"),
    "t_channel": ("Kanal", "Channel"),
    "t_address": ("Adresse (skjult)", "Address (masked)"),
    "t_url": ("Apprise-adresse (mailto://…, json://…)", "Apprise URL (mailto://…, json://…)"),
    "t_url_keep": (
        "Ny Apprise-adresse (tomt: behold den gamle)",
        "New Apprise URL (empty: keep the old one)",
    ),
    "t_secure": (
        "Sikker kanal (f.eks. e-post i Norsk Helsenett)",
        "Secure channel (e.g. Norsk Helsenett e-mail)",
    ),
    "t_active": ("Aktiv", "Active"),
    "t_add": ("Legg til mottaker", "Add a receiver"),
    "t_added": ("Mottakeren {label} er lagt til.", "The receiver {label} was added."),
    "t_edit": ("Endre {label}", "Edit {label}"),
    "t_save": ("Lagre", "Save"),
    "t_saved": ("Mottakeren {label} er lagret.", "The receiver {label} was saved."),
    "t_deactivate": ("Deaktiver", "Deactivate"),
    "t_deactivated": ("{label} får ikke lenger varsler.", "{label} no longer receives alerts."),
    "t_test": ("Send testmelding", "Send a test message"),
    "t_test_queued": (
        "Testmelding til {label} er lagt i kø; se «Sendte varsler».",
        'A test message to {label} is queued; see "Sent notifications".',
    ),
    "delays": ("Ventetider (minutter)", "Delays (minutes)"),
    "delay_on_call_after_min": (
        "Rødt uten kvittering før vakthavende sykepleier får melding",
        "Red without acknowledgement before the on-call nurse is told",
    ),
    "delay_second_nurse_after_min": (
        "Deretter til andre sykepleier",
        "Then to the second nurse",
    ),
    "delay_after_hours_after_min": (
        "Deretter til legevakt/hjemmesykepleie",
        "Then to the after-hours service",
    ),
    "delay_centre_lead_after_min": (
        "Deretter til leder for oppfølgingstjenesten",
        "Then to the lead of the follow-up centre",
    ),
    "detail_level": ("Hva meldingen kan si om pasienten", "What the message may say"),
    "chain_save": ("Lagre ventetider", "Save the delays"),
    "chain_saved": ("Ventetidene er lagret.", "The delays are saved."),
    "digest_title": ("Oppsummering på e-post", "Summary by e-mail"),
    "digest_caption": (
        "Daglig eller ukentlig e-post med antall avvik fra plan hos dine pasienter. E-posten "
        "har ingen navn og ingen helseopplysninger, bare en lenke hit. Akutte varsler går "
        "aldri til fastlegen.",
        "A daily or weekly e-mail with the number of deviations from plan among your patients. "
        "It carries no names and no health data, only a link here. Acute alerts never go to "
        "the GP.",
    ),
    "digest_frequency": ("Hvor ofte", "How often"),
    "digest_email": ("E-postadresse", "E-mail address"),
    "digest_save": ("Lagre", "Save"),
    "digest_saved": ("Valget er lagret: {choice}.", "Your choice is saved: {choice}."),
    "digest_not_configured": (
        "Driftsansvarlig har ikke satt opp sending av e-post ennå: valget lagres, men ingen "
        "e-post sendes før det er gjort.",
        "The operator has not set up sending e-mail yet: your choice is saved, but no e-mail "
        "is sent until that is done.",
    ),
    "notification_alert_hint": (
        "Meldingen om det røde varselet kom ikke fram: følg opp pasienten selv, ring mottakeren "
        "om det er en, og be administrator sjekke mottakerne under «Varsling».",
        "The message about the red alert did not get through: follow up the patient yourself, "
        "phone the receiver if there is one, and ask an administrator to check the receivers "
        'under "Notifications".',
    ),
    "journal_alert_hint": (
        "Varselet er lukket i DHO, men journalsystemet tok ikke imot det. Be driftsansvarlig "
        "sjekke forbindelsen, og før det inn i journalen selv hvis det ikke kan vente.",
        "The alert is closed in DHO, but the record system did not accept it. Ask the operator "
        "to check the connection, and enter it in the record yourself if it cannot wait.",
    ),
    "alert_link_not_found": (
        "Varselet i lenken finnes ikke eller er ikke ditt å se.",
        "The alert in the link does not exist or is not yours to see.",
    ),
    # issue 18: reach
    "discharge_code": ("Årsak til avslutning", "Reason for discharge"),
    "discharge_code_stable": ("Stabil, klarer seg uten oppfølging", "Stable, no longer needed"),
    "discharge_code_patient_withdrew": ("Pasienten ønsket å avslutte", "The patient withdrew"),
    "discharge_code_could_not_use_equipment": (
        "Klarte ikke å bruke utstyret",
        "Could not use the equipment",
    ),
    "discharge_code_not_suitable": (
        "Ikke egnet for oppfølging (klinisk vurdering)",
        "Not suitable (clinical judgement)",
    ),
    "discharge_code_nursing_home": (
        "Flyttet til sykehjem eller institusjon",
        "Moved to a nursing home or institution",
    ),
    "discharge_code_moved": ("Flyttet fra kommunen", "Moved out of the municipality"),
    "discharge_code_died": ("Død", "Died"),
    "discharge_code_other": ("Annet", "Other"),
    "discharge_code_needed": (
        "Velg årsak til avslutning, og skriv en begrunnelse, før du avslutter oppfølgingen.",
        "Choose the reason for discharge, and write a few words, before you discharge.",
    ),
    "home_care": ("Mottar også hjemmesykepleie", "Also receives home-care nursing"),
    "programme_settings_title": ("Tall til programoversikten", "Figures for the programme view"),
    "programme_settings_caption": (
        "Kommunens innbyggere etter kjønn og aldersgruppe (fra SSB-tabell 07459, summert i "
        "gruppene 0-49, 50-66, 67-79, 80-89 og 90+), hvor mange minutter et besøk fra "
        "hjemmesykepleien tar, og hvor mange sykepleierårsverk hver oppfølgingstjeneste har.",
        "The municipality's inhabitants by sex and age band (from SSB table 07459, summed into "
        "the bands 0-49, 50-66, 67-79, 80-89 and 90+), how many minutes a home-care visit "
        "takes, and how many nurse full-time equivalents each follow-up centre has.",
    ),
    "population_title": ("Innbyggere", "Inhabitants"),
    "population_none": ("Ingen tall lagt inn ennå.", "No figures entered yet."),
    "population_upload": (
        "Last ned malen, fyll inn antall innbyggere for hvert kjønn og hver aldersgruppe (fra "
        "SSB-tabell 07459), og last den opp. Hvert år i filen erstatter årets tall; en rad "
        "uten antall blir avvist.",
        "Download the template, fill in the inhabitants of each sex and age band (from SSB "
        "table 07459), and upload it. Each year in the file replaces that year's figures; a "
        "row without a count is refused.",
    ),
    "population_template": ("Last ned mal (CSV)", "Download the template (CSV)"),
    "population_year": ("År", "Year"),
    "population_sex": ("Kjønn", "Sex"),
    "population_sex_female": ("Kvinner", "Women"),
    "population_sex_male": ("Menn", "Men"),
    "population_age_band": ("Aldersgruppe", "Age band"),
    "population_count": ("Innbyggere", "Inhabitants"),
    "population_send": ("Last opp", "Upload"),
    "population_saved": (
        "Innbyggertallene for {name} er lagret ({rows} rader).",
        "The inhabitants of {name} are saved ({rows} rows).",
    ),
    "minutes_per_home_visit": (
        "Minutter per besøk fra hjemmesykepleien (med kjøring)",
        "Minutes per home-care visit (driving included)",
    ),
    "nurse_fte": ("Sykepleierårsverk", "Nurse full-time equivalents"),
    "not_entered": ("Ikke lagt inn", "Not entered"),
    "programme_save": ("Lagre", "Save"),
    "programme_saved": ("Lagret.", "Saved."),
    # issue 18: alerts
    "home_visit_avoided": ("Hjemmebesøk unngått", "Home visit avoided"),
    "home_visit_avoided_help": (
        "Kryss av når denne oppfølgingen gjorde et besøk fra hjemmesykepleien unødvendig. "
        "Det telles i programmets tall for spart tid i hjemmesykepleien.",
        "Tick when this handling made a home-care visit unnecessary. It counts in the "
        "programme's figure of home-care time saved.",
    ),
    # issue 18: page (the programme view)
    "nav_programme": ("Program", "Programme"),
    "programme_title": ("Program", "Programme"),
    "programme_intro": (
        "Tall for tjenesten som helhet: hvem den når, om den brukes slik den er ment, hvordan "
        "varslene håndteres og hva den gir. Definisjonen står ved hvert tall.",
        "Figures for the service as a whole: whom it reaches, whether it is used as intended, "
        "how alerts are handled and what it gains. The definition is beside each figure.",
    ),
    "programme_municipalities": ("Kommuner", "Municipalities"),
    "programme_all_municipalities": ("Alle kommuner", "All municipalities"),
    "programme_condition": ("Diagnose", "Condition"),
    "programme_all_conditions": ("Alle diagnoser", "All conditions"),
    "programme_period": ("Periode", "Period"),
    "programme_last_30_days": ("Siste 30 dager", "Last 30 days"),
    "programme_last_month": ("Forrige måned", "Last month"),
    "programme_chosen": ("Velg datoer", "Choose dates"),
    "programme_dates": ("Første og siste dag", "First and last day"),
    "programme_pick_both": (
        "Velg både første og siste dag.",
        "Choose both the first and the last day.",
    ),
    "programme_showing": (
        "Viser {period} · {municipalities} · {condition}",
        "Showing {period} · {municipalities} · {condition}",
    ),
    "programme_report": ("Månedsrapport til utskrift", "Monthly report for printing"),
    "programme_report_month": ("Måned", "Month"),
    "programme_report_download": ("Last ned månedsrapporten", "Download the monthly report"),
    "programme_report_hint": (
        "En HTML-side laget for A4: åpne den i nettleseren og skriv ut, eller lagre som PDF. "
        "Den har med alle delene du ser her, for kommunene og diagnosen som er valgt.",
        "An HTML page laid out for A4: open it in the browser and print it, or save it as PDF. "
        "It holds every section you see here, for the chosen municipalities and condition.",
    ),
    "programme_no_sections": (
        "Du har ingen tall å se i programvisningen.",
        "There are no programme figures for you to see.",
    ),
    "programme_no_figures": (
        "Ingen tall i denne delen ennå.",
        "No figures in this section yet.",
    ),
    "programme_empty_table": ("Ingen rader i perioden.", "No rows in the period."),
    "programme_source": ("Kilde", "Source"),
    "programme_definition": ("Definisjon", "Definition"),
    "programme_ratio": ("{numerator} av {denominator}", "{numerator} of {denominator}"),
    "programme_ratio_per_patient_week": (
        "{numerator} på {denominator} pasientuker",
        "{numerator} in {denominator} patient-weeks",
    ),
    "programme_ratio_per_nurse_day": (
        "{numerator} på {denominator} sykepleierdager",
        "{numerator} in {denominator} nurse-days",
    ),
    "programme_ratio_alert_handling.backlog_at_opening": (
        "{numerator} i alt på {denominator} åpningsdager",
        "{numerator} in all over {denominator} opening days",
    ),
    "programme_ratio_per_fte": (
        "{numerator} på {denominator} årsverk",
        "{numerator} over {denominator} FTE",
    ),
    "programme_not_computed": ("ikke beregnet", "not computed"),
    "programme_csv": ("Last ned CSV", "Download CSV"),
    "programme_excel": ("Last ned Excel", "Download Excel"),
    "programme_section_excel": (
        "Hele delen som Excel",
        "The whole section as Excel",
    ),
    "programme_axis_count": ("Antall", "Count"),
    "programme_axis_value": ("Verdi", "Value"),
    "programme_too_long": (
        "Velg en periode på høyst {days} dager.",
        "Choose a period of at most {days} days.",
    ),
    "programme_download_failed": (
        "Filen kunne ikke lages: {reason}",
        "The file could not be made: {reason}",
    ),
}


def t(key: str, language: Language, **values: object) -> str:
    """The text for ``key`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    nb, en = WORDS[key]
    text = en if language == "en" else nb
    return text.format(**values) if values else text
