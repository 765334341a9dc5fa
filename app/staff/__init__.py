"""The staff side: accounts, sessions, the console and its socket."""
