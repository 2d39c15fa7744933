"""The home hub: reads devices over Bluetooth, keeps an on-disk outbox, publishes over MQTT.

Arrives with issue 6.
"""
