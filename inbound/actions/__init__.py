"""Side effects of an outcome: the service's callback and the auto-reply SMS, each at most once."""
