"""Eclipse Ditto: the Ditto Protocol messages (pure) and the edges that talk to Ditto."""
