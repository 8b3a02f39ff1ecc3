"""The event bus between pipeline stages: in-process queues (embedded) or Kafka (scale-out)."""
