"""The visitor side: the landing page, starting a chat, and the visitor's socket."""
