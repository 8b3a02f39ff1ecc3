"""Notification channels: one file per integration, a shared error type, and the registry."""

from techscaniq.alerts.channels.base import ChannelSender, DeliveryError
from techscaniq.alerts.channels.registry import default_senders

__all__ = ["ChannelSender", "DeliveryError", "default_senders"]
