"""What a plugin author writes against: the contracts of each kind, the plugin record and the registry."""
