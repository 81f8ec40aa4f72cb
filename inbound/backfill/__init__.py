"""Backfill from GOV.UK Notify: received texts Notify kept that no callback brought (issue 17)."""
