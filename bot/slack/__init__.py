"""The Slack front end. ARCHITECTURE.md follows one reply through these modules:
listeners -> inbox -> step -> plan -> delivery, wired together in app.py."""
