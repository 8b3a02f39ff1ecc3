"""Quotas per organization: how much of the deployment one tenant may take (configs, rules, channels,
recipients, custom fingerprints, scan-now requests). Every limit is a setting (QUOTA_*); the error names the
field and the setting, so an operator knows what to raise."""

from __future__ import annotations

from techscaniq.domain.config import MonitoringConfig
from techscaniq.domain.errors import QuotaExceededError
from techscaniq.settings import Settings


def check_config_shape(config: MonitoringConfig, settings: Settings) -> None:
    """Rules per config, channels per rule, recipients per email channel."""
    if len(config.alert_rules) > settings.quota_rules_per_config:
        raise QuotaExceededError("alert_rules", f"{len(config.alert_rules)} alert rules: the quota is "
                                 f"{settings.quota_rules_per_config} per config (QUOTA_RULES_PER_CONFIG)")
    for index, rule in enumerate(config.alert_rules):
        channels = rule.notification_channels
        if len(channels) > settings.quota_channels_per_rule:
            raise QuotaExceededError(f"alert_rules.{index}.notification_channels", f"{len(channels)} channels: the "
                                     f"quota is {settings.quota_channels_per_rule} per rule (QUOTA_CHANNELS_PER_RULE)")
        for position, channel in enumerate(channels):
            recipients = getattr(channel, "recipients", None) or []
            if len(recipients) > settings.quota_recipients_per_channel:
                raise QuotaExceededError(
                    f"alert_rules.{index}.notification_channels.{position}.recipients",
                    f"{len(recipients)} recipients: the quota is {settings.quota_recipients_per_channel} per "
                    "channel (QUOTA_RECIPIENTS_PER_CHANNEL)")


def check_config_count(existing: int, settings: Settings) -> None:
    if existing >= settings.quota_configs_per_organization:
        raise QuotaExceededError("", f"the organization has {existing} configs: the quota is "
                                 f"{settings.quota_configs_per_organization} (QUOTA_CONFIGS_PER_ORGANIZATION)")


def check_custom_fingerprints(count: int, settings: Settings) -> None:
    if count > settings.quota_custom_fingerprints:
        raise QuotaExceededError("", f"{count} custom technologies: the quota is {settings.quota_custom_fingerprints} "
                                 "per organization (QUOTA_CUSTOM_FINGERPRINTS)")
