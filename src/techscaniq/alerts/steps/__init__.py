"""The alert path as small steps, one concept per module, composed by `alerts/engine.py` in this order:

  match     (match.py)     each enabled rule selects its changes of the scan; recoveries set apart
  resolve   (resolve.py)   recoveries resolve the open alerts they answer
  group     (group.py)     the selected changes of one rule become one alert with a dedupe key; an open
                           alert with that key absorbs the repeat instead (Alertmanager's grouping)
  silence   (silence.py)   a silence or maintenance window covering the config: recorded, not notified
  throttle  (throttle.py)  a notification for the key inside the rule's throttle window: recorded, not notified
  store     (store.py)     the alert stored under its derived id; an id stored before is a repeat (dedupe)
  outbox    (outbox.py)    its deliveries stored, one per channel; the Notifier sends them (woken at once)

Every id is derived (identity.py), and storage ignores ids it already has, so running the path twice for one
scan stores and sends nothing twice.
"""
