"""The dashboard's API client against the real API: a refused login carries the API's reason,
an expired access token is refreshed once, an ended login and an absent service give errors a
person can read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dashboard.api_client import ApiClient, ApiError, Tokens
from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld
from tests.integration.api.test_worklist import ingest, reading


@pytest.fixture
def client(http: httpx.Client, api_world: ApiWorld) -> Iterator[ApiClient]:
    api = ApiClient(str(http.base_url).rstrip("/") + "/api/v1")
    yield api
    api.close()


def test_a_refused_login_carries_the_apis_title_and_detail(client: ApiClient) -> None:
    with pytest.raises(ApiError) as refused:
        client.login("nurse-a", "feil")
    assert refused.value.status == 401
    assert refused.value.title
    assert "password" in refused.value.detail.lower()


def test_a_stale_access_token_is_refreshed_once_and_the_request_retried(
    client: ApiClient,
) -> None:
    """The nurse does not notice her access token expiring: the refresh token swaps it."""
    client.login("nurse-a", PASSWORD)
    tokens: Tokens = client._tokens  # type: ignore[assignment]  # the test ages the token
    client._tokens = tokens.model_copy(update={"access_token": "expired"})
    assert [i.display_name for i in client.worklist()]  # answered after one refresh
    assert client._tokens is not None
    assert client._tokens.refresh_token != tokens.refresh_token  # single use: a new one


def test_after_logout_the_client_is_logged_out_and_says_so(client: ApiClient) -> None:
    client.login("nurse-a", PASSWORD)
    client.logout()
    assert not client.is_logged_in
    with pytest.raises(ApiError) as refused:
        client.worklist()
    assert refused.value.is_unauthorised


def test_a_service_that_does_not_answer_gives_a_reason_not_a_traceback() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ApiClient(f"http://127.0.0.1:{port}/api/v1", timeout=2)
    with pytest.raises(ApiError) as failed:
        client.login("nurse-a", PASSWORD)
    assert failed.value.status is None
    assert failed.value.title == "The DHO service does not answer"
    assert "check that the service is running" in failed.value.detail
    client.close()


def test_reasons_come_in_the_language_the_person_chose(
    client: ApiClient, sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    """The client asks for the person's language (Accept-Language), and the worklist's
    reasons come in it: bokmål with a decimal comma by default, English after switching."""
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("low", "spo2", {"spo2": 86.5}, NOW - timedelta(hours=1)),
    )
    client.login("nurse-a", PASSWORD)

    def reasons() -> list[str]:
        return [a.reason.reason for item in client.worklist() for a in item.alerts]

    [bokmål] = reasons()
    assert bokmål.startswith("Oksygenmetning 86,5\u00a0% – rød")
    client.set_language("en")
    [english] = reasons()
    assert english.startswith("Oxygen saturation 86.5% – red")
