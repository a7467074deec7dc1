"""Serving and hardening: request guards, the WSGI shield, Engine.IO sessions, the listener, stops."""
