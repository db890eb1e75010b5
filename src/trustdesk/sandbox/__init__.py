"""Sandboxes of the outside services TrustDesk talks to, for the demo and the tests.

Each follows the other side's documented protocol with nothing of TrustDesk's own code in the
checking path, so a test that passes against a sandbox shows the protocol is met.
"""
