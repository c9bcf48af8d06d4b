"""The officers' back office: roles, the household 360° page, purchases and the objection queue.

It sits on top with the portal (it composes every app below it) and is imported by none.
"""
