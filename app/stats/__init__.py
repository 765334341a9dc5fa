"""Statistics: counters only, never a row per visitor or conversation."""
