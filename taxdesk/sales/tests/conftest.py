from taxdesk.testing.devices import fleet, schedules  # noqa: F401  (fixtures)
