"""onestop.contracts: event models, shared enums and the schemas services exchange."""
