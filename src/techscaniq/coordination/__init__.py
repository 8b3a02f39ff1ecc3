"""Coordination of replicas through Redis (REDIS_URL): alert throttle windows and dedupe locks, API rate
limits. Every piece degrades to a local or database path when Redis does not answer; none stops the pipeline.

WebSocket fan-out needs no Redis: with Kafka every replica's RealtimeHub consumes every event in a consumer
group of its own (`realtime-<instance_id>`), so a client on replica A gets events produced on replica B."""

from techscaniq.coordination.alert_gate import RedisAlertGate
from techscaniq.coordination.connection import RedisGuard, create_redis
from techscaniq.coordination.rate_limiter import RedisRateLimiter

__all__ = ["RedisAlertGate", "RedisGuard", "RedisRateLimiter", "create_redis"]
