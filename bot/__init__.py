"""newsbot's command layer and its surfaces: transport-free commands, console adapter, Discord adapter."""
