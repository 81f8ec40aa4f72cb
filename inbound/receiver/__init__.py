"""The HTTP side: provider webhooks, health and readiness."""
