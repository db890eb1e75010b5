"""The DSA duties that leave TrustDesk: statements of reasons to the Transparency Database, and
the transparency report (Art. 15/24)."""
