"""One module per SMS provider: verify a webhook, parse it, and build the provider's answer."""
