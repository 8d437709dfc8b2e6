"""The HTTP service: gateway (worker protocol), api (operators) and sweeper roles."""
