"""The gateway's Bluetooth side: find the paired health devices, keep reaching them, read what
they measured (live values, stored records, RACP downloads) into the outbox."""
