"""People's login: passwords (argon2), access tokens (JWT) and rotating refresh tokens."""
