"""Loopback fakes of the providers: real aiohttp servers speaking their wire formats."""

from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.twilio import FakeTwilio

__all__ = ["FakeSendGrid", "FakeTwilio"]
