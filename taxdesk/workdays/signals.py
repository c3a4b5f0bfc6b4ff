"""What the calendar tells the apps above it."""

from django.dispatch import Signal

# Sent after the transaction that entered a year or corrected days has committed, with
# ``years`` (sorted list): the clocks app recomputes the open clocks that touched them.
calendar_changed = Signal()
