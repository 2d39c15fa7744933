"""The MQTT broker: the embedded one (Mosquitto, or amqtt for demos) and Mosquitto configuration.

``start_broker(settings) -> (url, handle)`` gives the broker to use: ``DHO_MQTT_URL`` when set,
otherwise an embedded broker this process owns (``handle.stop()`` at the end).
"""

from triage.broker.embedded import (
    AMQTT_WARNING,
    BrokerStartError,
    EmbeddedBroker,
    find_mosquitto,
    start_broker,
)
from triage.broker.endpoint import (
    BrokerUnavailableError,
    MqttEndpoint,
    MqttProtocol,
    probe_broker,
    redact,
    wait_for_broker,
)
from triage.broker.mosquitto_config import (
    PROBE_USER,
    SERVICE_USER,
    BrokerConfigError,
    BrokerCredential,
    MosquittoOptions,
    TlsListener,
    render_acl,
    render_mosquitto_conf,
    render_password_file,
    write_broker_files,
)
from triage.broker.passwords import mosquitto_password_hash, verify_mosquitto_password

__all__ = [
    "AMQTT_WARNING",
    "PROBE_USER",
    "SERVICE_USER",
    "BrokerConfigError",
    "BrokerCredential",
    "BrokerStartError",
    "BrokerUnavailableError",
    "EmbeddedBroker",
    "MosquittoOptions",
    "MqttEndpoint",
    "MqttProtocol",
    "TlsListener",
    "find_mosquitto",
    "mosquitto_password_hash",
    "probe_broker",
    "redact",
    "render_acl",
    "render_mosquitto_conf",
    "render_password_file",
    "start_broker",
    "verify_mosquitto_password",
    "wait_for_broker",
    "write_broker_files",
]
