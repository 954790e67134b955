"""What every stage stands on: reading files, writing outputs atomically under a lock with signals
held, whitespace fields, the id rules, the one normaliser, the device choice and worker pools."""
