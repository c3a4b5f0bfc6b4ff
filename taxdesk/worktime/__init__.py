"""The working-day calendar and working-time maths: pure Python, the lowest layer.

:mod:`taxdesk.worktime.calendar` (which days are working days, counted in constant time) and
:mod:`taxdesk.worktime.hours` (opening hours and working-time arithmetic) import neither
Django nor any other TaxDesk package; ``core``, ``workdays`` and ``clocks`` import them.
"""
