"""The gate every request to a source goes through: its pure rules (`rules`), the limiter every
worker shares (`limiter`), the keeper that applies them to each request (`keeper`), and a
simulation of a month of requests through it (`simulation`)."""
