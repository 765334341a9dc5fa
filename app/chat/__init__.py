"""Conversations shared by both sides: storage, the wire protocol, cross-process relay."""
