"""The mentoring-time shape (support time per site over months against a planned amount):
its analysis, claims, tables and figures."""
