"""The audit trail with values: who changed what, when, from what to what (django-pghistory
database triggers, so imports and raw SQL are recorded too). On top, beside the portal: it tracks
models of every app below it and is imported by none of them.
"""
