"""The visitor side: the landing page, starting a chat, the visitor's socket, return codes and letters."""
