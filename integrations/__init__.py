"""Wearable connectors: provider declarations, OAuth, sync, pacing, webhooks and loopback sandboxes."""
