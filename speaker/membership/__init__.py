"""Liveness between speakers: SWIM-style failure detection over HMAC-authenticated UDP.

``swim`` is the protocol state machine (pure: time comes in as an argument),
``wire`` the authenticated encoding, ``service`` the asyncio UDP shell.
"""
