"""What home devices say: Bluetooth GATT decoders, the device catalogue and simulated devices.

The decoders, catalogue and emulated devices arrive with issue 3; this package is installed
already so that the rest of the system has its place in the dependency graph.
"""
