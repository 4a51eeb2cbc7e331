"""Model conversion: turning a model in a storage container into an asset hosts load fast."""
