"""Templates, static assets and translations (a package so it installs with the app)."""
