"""The pure core: definitions, their compiled tables and the transition kernel."""
