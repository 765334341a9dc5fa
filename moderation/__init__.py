"""Pure-Python text screening (risk signals, personal-data scrubbing); no I/O, no app imports.

Empty until the moderation issue: nothing here is used yet.
"""
