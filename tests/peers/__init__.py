"""Real network peers (camera servers) that the integration tests start and stop."""
