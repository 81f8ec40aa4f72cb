"""The caseworkers' review queue: web pages under /review/ and a JSON API under /api/."""
