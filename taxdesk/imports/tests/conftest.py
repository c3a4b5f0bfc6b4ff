from taxdesk.testing.imports import imports_inline, jobs  # noqa: F401  (fixtures)
