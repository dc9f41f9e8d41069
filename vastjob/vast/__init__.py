"""Talking to Vast.ai: the HTTP client, the offer query, plans, apply and the instance lifecycle.

Nothing here imports the local emulator: it speaks only the wire format, so the same code drives
the real service and the emulator alike.
"""
