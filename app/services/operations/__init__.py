"""Operating an installation: copying its database, backing it up, and checking its setup."""
