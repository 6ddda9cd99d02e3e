"""Candidate fixes measured before anyone makes them: app factories for `BENCH_SERVER_APP`
that patch the product in the server process only, then build the usual bench app."""
