"""The device catalogue: the gateway knows what to do with each health device it sees."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devices.catalogue import Quirk, load_catalogue, parse_catalogue
from devices.decode import DECODERS

CATALOGUE = load_catalogue()

PROFILE_FOR_SERVICE = [
    ("00001810-0000-1000-8000-00805f9b34fb", "blood_pressure", "blood_pressure"),
    ("1822", "pulse_oximeter", "spo2"),
    ("0x1808", "glucose", "glucose"),
    ("1809", "thermometer", "body_temperature"),
    ("181d", "weight_scale", "body_weight"),
    ("180d", "heart_rate", "heart_rate"),
    ("181b", "body_composition", "body_weight"),
]


@pytest.mark.parametrize(("service", "profile", "kind"), PROFILE_FOR_SERVICE)
def test_advertised_service_finds_its_profile(service: str, profile: str, kind: str) -> None:
    """A device advertising a health service is recognised, and its readings' kind known."""
    found = CATALOGUE.profile_for_services(["0000fe95-0000-1000-8000-00805f9b34fb", service])
    assert found is not None
    assert (found.id, found.kind) == (profile, kind)


def test_unknown_and_vendor_services_are_not_health_devices() -> None:
    """A headset or a vendor-only device is ignored, not mistaken for a meter."""
    vendor = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
    assert CATALOGUE.profile_for_services([vendor, "110b"]) is None


def test_glucose_meter_uses_record_access() -> None:
    """The glucose meter's stored records are fetched through RACP, which is writable."""
    glucose = CATALOGUE.profile("glucose")
    assert glucose.stores_records
    assert glucose.bonding == "required"
    racp = glucose.characteristic("record_access")
    assert racp is not None
    assert (racp.uuid, racp.mode, racp.writable) == (0x2A52, "indicate", True)
    assert [c.uuid for c in glucose.subscriptions] == [0x2A18, 0x2A34, 0x2A52]


def test_every_subscribed_characteristic_has_a_decoder() -> None:
    """Everything the gateway subscribes to can be decoded."""
    missing = [
        (p.id, f"{c.uuid:#06x}")
        for p in CATALOGUE.profiles
        for c in p.subscriptions
        if c.uuid not in DECODERS
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "quirks"),
    [
        ("UA-651BLE", {Quirk.SENDS_STORED_THEN_DISCONNECTS}),
        ("BLEsmart_00000398", {Quirk.NEEDS_BONDING, Quirk.SENDS_STORED_THEN_DISCONNECTS}),
        ("BM54 0042", {Quirk.RESERVED_FLAG_BITS}),
        ("DHO-EMU-GLU-1", {Quirk.CLOCK_UNSET_UNTIL_TIME_WRITTEN, Quirk.NEEDS_BONDING}),
        ("Some Other Cuff", set()),
        (None, set()),
    ],
)
def test_model_quirks_by_local_name(name: str | None, quirks: set[Quirk]) -> None:
    """Known models bring their quirks, so the gateway handles them (bonding, clocks)."""
    assert CATALOGUE.quirks_for(name) == quirks


def test_scan_filter_lists_every_health_service() -> None:
    """The gateway scans for every service in the catalogue, in bleak's 128-bit form."""
    assert "00001808-0000-1000-8000-00805f9b34fb" in CATALOGUE.service_uuids
    assert len(CATALOGUE.service_uuids) == len(CATALOGUE.profiles)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[profile]]\nid="x"\nname="x"\nservice="1810"\nkind="k"\nstores_records=false\n'
            'bonding="optional"\ncharacteristics=[]\n[[model]]\nname_prefix="AB"\n'
            'manufacturer="m"\nprofile="nope"\nsource="s"\n',
            "models name unknown profiles: nope",
        ),
        (
            '[[profile]]\nid="x"\nname="x"\nservice="zz"\nkind="k"\nstores_records=false\n'
            'bonding="optional"\ncharacteristics=[]\nmodel=[]\n',
            "neither a 16-bit id",
        ),
        (
            '[[profile]]\nid="x"\nname="x"\nservice="1810"\nkind="k"\nstores_records=false\n'
            'bonding="optional"\ncharacteristics=[{uuid="2a35",mode="shout",role="measurement"}]'
            "\nmodel=[]\n",
            "Input should be 'indicate', 'notify' or 'read'",
        ),
    ],
)
def test_a_broken_catalogue_is_refused(toml: str, message: str) -> None:
    """An operator's mistake in the catalogue stops loading with the reason."""
    with pytest.raises(ValidationError, match=message):
        parse_catalogue(toml)
